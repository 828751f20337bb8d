package hcloudemu

import (
	"flag"
	"io"
	"testing"
)

func TestTokenFlags(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var tokens TokenFlags
	fs.Var(&tokens, "token", "")
	if err := fs.Parse([]string{"--token", "p:abc", "--token", "q:def:ro"}); err != nil {
		t.Fatal(err)
	}
	want := []Token{{Project: "p", Token: "abc"}, {Project: "q", Token: "def", ReadOnly: true}}
	if len(tokens) != 2 || tokens[0] != want[0] || tokens[1] != want[1] {
		t.Fatalf("tokens %+v, want %+v", tokens, want)
	}
	for _, bad := range []string{"", "p", "p:", ":t", "p:t:rw", "p:t:ro:x", "p:a b"} {
		if _, err := ParseToken(bad); err == nil {
			t.Errorf("ParseToken(%q) accepted", bad)
		}
	}
}
