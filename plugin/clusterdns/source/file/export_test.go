package file

// Poll runs one check of the file, as a tick of the watcher does.
func (s *Source) Poll() { s.poll() }
