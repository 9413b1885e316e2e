package cluster

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckBinaries(t *testing.T) {
	tests := []struct {
		name    string
		present []string
		wantErr []string // substrings of the error; nil: no error
	}{
		{
			name:    "empty dir",
			wantErr: append([]string{"make testbed", kwokStagesDir}, binaries...),
		},
		{
			name:    "kwok stages missing",
			present: binaries,
			wantErr: []string{"missing " + kwokStagesDir + ";", "make testbed"},
		},
		{
			name:    "complete",
			present: append([]string{kwokStagesDir}, binaries...),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, name := range tt.present {
				if err := os.WriteFile(filepath.Join(dir, name), nil, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			err := checkBinaries(dir)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("checkBinaries: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("checkBinaries: nil error, want one")
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
		})
	}
}
