package build

import (
	"fmt"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/plugin"
)

// renamed maps the directives of stock CoreDNS that this build serves
// under another name to that name. Each old name stays a directive, in its
// own slot of the order, whose setup only fails: a Corefile carried over
// unchanged then stops the server with the file, the line and the rename
// to make, where caddy's parser would only say "Unknown directive".
var renamed = map[string]string{"kubernetes": "clusterdns"}

func init() {
	for old, name := range renamed {
		plugin.Register(old, func(c *caddy.Controller) error {
			c.Next()
			return plugin.Error(old, c.Err(renameHint(old, name)))
		})
	}
}

func renameHint(old, name string) string {
	return fmt.Sprintf("this server has no %s plugin: rename the directive to %s, which takes the same options", old, name)
}
