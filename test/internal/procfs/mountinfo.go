// Package procfs reads the few Linux /proc tables that the test tooling
// (the sandbox, test/cmd/dockerd) needs to clean up after itself.
package procfs

import (
	"bufio"
	"io"
	"strconv"
	"strings"
)

// MountPoints returns the mount points of a mountinfo table
// (/proc/<pid>/mountinfo), in table order, with its octal escapes undone.
// A point mounted more than once appears once per mount.
func MountPoints(r io.Reader) ([]string, error) {
	var out []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		// id parent major:minor root mount-point options ...
		f := strings.Fields(sc.Text())
		if len(f) >= 5 {
			out = append(out, Unescape(f[4]))
		}
	}
	return out, sc.Err()
}

// Unescape undoes mountinfo's octal escapes (\040 space, \011 tab,
// \012 newline, \134 backslash).
func Unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if c, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(c))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
