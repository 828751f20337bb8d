package hcloudemu

import (
	"errors"
	"fmt"
	"strings"
)

// ParseToken parses the command-line form of a token, project:token[:ro]
// (":ro" makes it read-only).
func ParseToken(v string) (Token, error) {
	parts := strings.Split(v, ":")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
		return Token{}, errors.New("want project:token[:ro]")
	}
	if strings.ContainsAny(parts[1], " \t\r\n") {
		return Token{}, errors.New("the token must not contain spaces")
	}
	tok := Token{Project: parts[0], Token: parts[1]}
	if len(parts) == 3 {
		if parts[2] != "ro" {
			return Token{}, errors.New("third part must be ro")
		}
		tok.ReadOnly = true
	}
	return tok, nil
}

// TokenFlags is a repeatable flag.Value of ParseToken tokens.
type TokenFlags []Token

func (t *TokenFlags) String() string { return fmt.Sprint(len(*t), " tokens") }

// Set adds one token.
func (t *TokenFlags) Set(v string) error {
	tok, err := ParseToken(v)
	if err != nil {
		return err
	}
	*t = append(*t, tok)
	return nil
}
