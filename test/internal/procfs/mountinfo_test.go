package procfs

import (
	"os"
	"slices"
	"strings"
	"testing"
)

func TestMountPoints(t *testing.T) {
	table := `22 1 0:21 / /proc rw,nosuid - proc proc rw
101 22 0:50 / /srv/a\040b rw - tmpfs tmpfs rw
102 22 0:51 / /srv/tab\011and\134back rw - tmpfs tmpfs rw
103 22 0:51 / /srv/tab\011and\134back rw - tmpfs tmpfs rw
short line
104 22 0:52 / /srv/odd\09 rw - tmpfs tmpfs rw
`
	got, err := MountPoints(strings.NewReader(table))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"/proc", "/srv/a b", "/srv/tab\tand\\back", "/srv/tab\tand\\back", `/srv/odd\09`}
	if !slices.Equal(got, want) {
		t.Errorf("MountPoints = %q, want %q", got, want)
	}
}

func TestMountPointsOfThisProcess(t *testing.T) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		t.Skipf("no procfs: %v", err)
	}
	defer f.Close()
	got, err := MountPoints(f)
	if err != nil || !slices.Contains(got, "/") {
		t.Errorf("MountPoints(/proc/self/mountinfo) = %q, %v: want the root among them", got, err)
	}
}
