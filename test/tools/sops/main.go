// Command sops-tool is the repository's small front end to the SOPS library
// (github.com/getsops/sops/v3) with age keys, so that encrypting the secrets
// under flux/secrets/ needs nothing but Go:
//
//	sops-tool keygen  [-rotate] ENV...    age key per environment under .cache/sops/, recipients into .sops.yaml
//	sops-tool encrypt FILE...             encrypt in place by the creation rules of .sops.yaml
//	sops-tool edit    FILE                decrypt to a private temp file, run $EDITOR, re-encrypt
//	sops-tool decrypt-check [FILE|DIR]... check every encrypted file (structure, MAC; with a key also decryption)
//
// The private keys stay out of git (.cache/ is ignored). Real environments keep
// their own keys; see docs/runbooks/sops.md.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"filippo.io/age"
	"github.com/getsops/sops/v3"
	"github.com/getsops/sops/v3/aes"
	sopsage "github.com/getsops/sops/v3/age"
	"github.com/getsops/sops/v3/cmd/sops/common"
	"github.com/getsops/sops/v3/config"
	"github.com/getsops/sops/v3/keyservice"
	sopsyaml "github.com/getsops/sops/v3/stores/yaml"
	"github.com/getsops/sops/v3/version"
	"gopkg.in/yaml.v3"
)

const usage = `usage: sops-tool [-root DIR] <command> [args]
  keygen [-rotate] ENV...     create (or rotate) the age key of each environment and write its recipient into .sops.yaml
  encrypt FILE...             encrypt files in place using the matching .sops.yaml creation rule
  encrypt -age RECIPIENT FILE...
                              encrypt in place for that age recipient (data and stringData only), no .sops.yaml
  identity FILE               create FILE (mode 0600) with a new age identity unless it exists; print its recipient
  edit FILE                   decrypt into a private temporary file, open $EDITOR, re-encrypt
  decrypt-check [PATH]...     verify every SOPS file under PATH (default flux/secrets)`

func main() {
	root := flag.String("root", "", "repository root (default: nearest parent holding .sops.yaml or .git)")
	flag.Usage = func() { fmt.Fprintln(os.Stderr, usage) }
	flag.Parse()
	if flag.NArg() < 1 {
		flag.Usage()
		os.Exit(2)
	}
	if *root == "" {
		*root = findRoot()
	}
	var err error
	args := flag.Args()[1:]
	switch flag.Arg(0) {
	case "keygen":
		err = keygen(*root, args)
	case "encrypt":
		err = encryptFiles(*root, args)
	case "identity":
		err = identity(args)
	case "edit":
		err = edit(*root, args)
	case "decrypt-check":
		err = decryptCheck(*root, args)
	default:
		flag.Usage()
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "sops-tool:", err)
		os.Exit(1)
	}
}

func findRoot() string {
	dir, _ := os.Getwd()
	for d := dir; ; d = filepath.Dir(d) {
		for _, m := range []string{".sops.yaml", ".git"} {
			if _, err := os.Stat(filepath.Join(d, m)); err == nil {
				return d
			}
		}
		if filepath.Dir(d) == d {
			return dir
		}
	}
}

func keyDir(root string) string { return filepath.Join(root, ".cache", "sops") }

// ---- keygen ----------------------------------------------------------------

var envName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)

func keygen(root string, args []string) error {
	fl := flag.NewFlagSet("keygen", flag.ExitOnError)
	rotate := fl.Bool("rotate", false, "replace an existing key (the old one is kept beside it with a timestamp)")
	_ = fl.Parse(args)
	if fl.NArg() == 0 {
		return errors.New("keygen: name at least one environment (develop staging production shared)")
	}
	if err := os.MkdirAll(keyDir(root), 0o700); err != nil {
		return err
	}
	for _, env := range fl.Args() {
		if !envName.MatchString(env) {
			return fmt.Errorf("keygen: bad environment name %q", env)
		}
		file := filepath.Join(keyDir(root), env+".agekey")
		recipient, err := ensureKey(file, *rotate)
		if err != nil {
			return err
		}
		if err := setRecipient(filepath.Join(root, ".sops.yaml"), env, recipient); err != nil {
			return err
		}
		fmt.Printf("%-11s %s  (private key: %s)\n", env, recipient, file)
	}
	fmt.Println("Recipients written to .sops.yaml. Re-encrypt existing files after a rotation: go tool task sops:encrypt -- --rekey FILE...")
	return nil
}

func ensureKey(file string, rotate bool) (string, error) {
	if b, err := os.ReadFile(file); err == nil && !rotate {
		ids, err := age.ParseIdentities(bytes.NewReader(b))
		if err != nil {
			return "", fmt.Errorf("%s: %w", file, err)
		}
		x, ok := ids[0].(*age.X25519Identity)
		if !ok {
			return "", fmt.Errorf("%s: not an X25519 age identity", file)
		}
		return x.Recipient().String(), nil
	} else if err == nil {
		if err := os.Rename(file, file+"."+time.Now().UTC().Format("20060102T150405Z")); err != nil {
			return "", err
		}
	}
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return "", err
	}
	content := fmt.Sprintf("# created: %s\n# public key: %s\n%s\n", time.Now().UTC().Format(time.RFC3339), id.Recipient(), id)
	if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
		return "", err
	}
	return id.Recipient().String(), nil
}

// setRecipient points the creation rule of flux/secrets/<env>/ at recipient,
// adding the rule when .sops.yaml has none for env.
func setRecipient(confPath, env, recipient string) error {
	var doc yaml.Node
	if b, err := os.ReadFile(confPath); err == nil {
		if err := yaml.Unmarshal(b, &doc); err != nil {
			return fmt.Errorf("%s: %w", confPath, err)
		}
	}
	if doc.Kind == 0 {
		doc = yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode}}}
	}
	top := doc.Content[0]
	rules := mapGet(top, "creation_rules")
	if rules == nil {
		rules = &yaml.Node{Kind: yaml.SequenceNode}
		top.Content = append(top.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: "creation_rules"}, rules)
	}
	rules.Style = 0 // block style, one rule per entry
	for _, r := range rules.Content {
		r.Style = 0
	}
	want := fmt.Sprintf("^flux/secrets/%s/.*\\.ya?ml$", env)
	var rule *yaml.Node
	for _, r := range rules.Content {
		if p := mapGet(r, "path_regex"); p != nil && p.Value == want {
			rule = r
		}
	}
	if rule == nil {
		rule = &yaml.Node{Kind: yaml.MappingNode}
		add := func(k, v string, style yaml.Style) {
			rule.Content = append(rule.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: k}, &yaml.Node{Kind: yaml.ScalarNode, Value: v, Style: style})
		}
		add("path_regex", want, yaml.SingleQuotedStyle)
		add("encrypted_regex", "^(data|stringData)$", yaml.SingleQuotedStyle)
		add("age", recipient, 0)
		rules.Content = append(rules.Content, rule)
	} else if a := mapGet(rule, "age"); a != nil {
		a.Kind, a.Value, a.Content, a.Style = yaml.ScalarNode, recipient, nil, 0
	} else {
		rule.Content = append(rule.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: "age"}, &yaml.Node{Kind: yaml.ScalarNode, Value: recipient})
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return err
	}
	return os.WriteFile(confPath, buf.Bytes(), 0o644)
}

func mapGet(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// ---- encrypt / edit --------------------------------------------------------

func store() *sopsyaml.Store { return sopsyaml.NewStore(&config.YAMLStoreConfig{Indent: 2}) }

func localKeyServices() []keyservice.KeyServiceClient {
	return []keyservice.KeyServiceClient{keyservice.NewLocalClient()}
}

// encryptBytes encrypts a plaintext YAML document for path (which selects the creation rule).
// encryptBytes encrypts plain for the .sops.yaml creation rule matching
// path, or, with recipient set, for that age recipient alone.
func encryptBytes(root, path string, plain []byte, recipient string) ([]byte, error) {
	abs, _ := filepath.Abs(path)
	conf, err := creationRule(root, abs, recipient)
	if err != nil {
		return nil, err
	}
	if conf == nil || len(conf.KeyGroups) == 0 {
		return nil, fmt.Errorf("%s: no creation rule in .sops.yaml matches this path", path)
	}
	st := store()
	branches, err := st.LoadPlainFile(plain)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(branches) > 0 && st.HasSopsTopLevelKey(branches[0]) {
		return nil, fmt.Errorf("%s is already encrypted (use edit, or --rekey)", path)
	}
	tree := sops.Tree{
		Branches: branches,
		Metadata: sops.Metadata{
			KeyGroups:        conf.KeyGroups,
			EncryptedRegex:   conf.EncryptedRegex,
			UnencryptedRegex: conf.UnencryptedRegex,
			Version:          version.Version,
			ShamirThreshold:  conf.ShamirThreshold,
		},
		FilePath: abs,
	}
	dataKey, errs := tree.GenerateDataKeyWithKeyServices(localKeyServices())
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s: %v", path, errs)
	}
	if err := common.EncryptTree(common.EncryptTreeOpts{DataKey: dataKey, Tree: &tree, Cipher: aes.NewCipher()}); err != nil {
		return nil, err
	}
	return st.EmitEncryptedFile(tree)
}

// creationRule is the .sops.yaml rule for the file at abs, or a rule of its
// own for one age recipient (encrypting data and stringData, as every rule
// of this repository does).
func creationRule(root, abs, recipient string) (*config.Config, error) {
	if recipient == "" {
		return config.LoadCreationRuleForFile(filepath.Join(root, ".sops.yaml"), abs, nil)
	}
	keys, err := sopsage.MasterKeysFromRecipients(recipient)
	if err != nil {
		return nil, fmt.Errorf("-age %s: %w", recipient, err)
	}
	var group sops.KeyGroup
	for _, k := range keys {
		group = append(group, k)
	}
	return &config.Config{KeyGroups: []sops.KeyGroup{group}, EncryptedRegex: "^(data|stringData)$"}, nil
}

// identity creates an age identity file unless it exists and prints its
// recipient.
func identity(args []string) error {
	if len(args) != 1 {
		return errors.New("identity: name one file")
	}
	if err := os.MkdirAll(filepath.Dir(args[0]), 0o700); err != nil {
		return err
	}
	recipient, err := ensureKey(args[0], false)
	if err != nil {
		return err
	}
	fmt.Println(recipient)
	return nil
}

func decryptFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	st := store()
	tree, err := st.LoadEncryptedFile(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if _, err := common.DecryptTree(common.DecryptTreeOpts{Tree: &tree, KeyServices: localKeyServices(), Cipher: aes.NewCipher()}); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return st.EmitPlainFile(tree.Branches)
}

func encryptFiles(root string, args []string) error {
	fl := flag.NewFlagSet("encrypt", flag.ExitOnError)
	rekey := fl.Bool("rekey", false, "decrypt (needs SOPS_AGE_KEY_FILE) and encrypt again for the current recipients")
	recipient := fl.String("age", "", "encrypt for this age recipient instead of the .sops.yaml rule (data and stringData only)")
	_ = fl.Parse(args)
	if fl.NArg() == 0 {
		return errors.New("encrypt: name the files (plaintext YAML under flux/secrets/<env>/)")
	}
	for _, f := range fl.Args() {
		var plain []byte
		var err error
		if *rekey {
			plain, err = decryptFile(f)
		} else {
			plain, err = os.ReadFile(f)
		}
		if err != nil {
			return err
		}
		out, err := encryptBytes(root, f, plain, *recipient)
		if err != nil {
			return err
		}
		if err := os.WriteFile(f, out, 0o644); err != nil {
			return err
		}
		fmt.Println("encrypted", f)
	}
	return nil
}

func edit(root string, args []string) error {
	if len(args) != 1 {
		return errors.New("edit: name one file")
	}
	path := args[0]
	plain, err := decryptFile(path)
	if err != nil {
		return fmt.Errorf("%w (set SOPS_AGE_KEY_FILE to the environment's private key)", err)
	}
	tmpDir := filepath.Join(keyDir(root), "tmp")
	if err := os.MkdirAll(tmpDir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(tmpDir, "edit-*.yaml")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(plain); err != nil {
		return err
	}
	tmp.Close()
	editor := os.Getenv("EDITOR")
	if editor == "" {
		editor = "vi"
	}
	cmd := exec.Command("sh", "-c", editor+` "$1"`, "editor", tmp.Name())
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("editor: %w", err)
	}
	edited, err := os.ReadFile(tmp.Name())
	if err != nil {
		return err
	}
	if bytes.Equal(edited, plain) {
		fmt.Println("no change:", path)
		return nil
	}
	out, err := encryptBytes(root, path, edited, "")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, out, 0o644); err != nil {
		return err
	}
	fmt.Println("re-encrypted", path)
	return nil
}

// ---- decrypt-check ---------------------------------------------------------

var encValue = regexp.MustCompile(`^ENC\[AES256_GCM,data:[A-Za-z0-9+/=]*,iv:[A-Za-z0-9+/=]+,tag:[A-Za-z0-9+/=]+,type:[a-z]+\]$`)

func decryptCheck(root string, args []string) error {
	if len(args) == 0 {
		args = []string{filepath.Join(root, "flux", "secrets")}
	}
	var files []string
	for _, a := range args {
		_ = filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) && filepath.Base(p) != "kustomization.yaml" {
				files = append(files, p)
			}
			return nil
		})
	}
	if len(files) == 0 {
		return fmt.Errorf("decrypt-check: no YAML files under %s", strings.Join(args, " "))
	}
	withKey := os.Getenv("SOPS_AGE_KEY_FILE") != "" || os.Getenv("SOPS_AGE_KEY") != ""
	if withKey {
		fmt.Println("decrypt-check: a key is set: decrypting every file and verifying its MAC")
	} else {
		fmt.Println("decrypt-check: no SOPS_AGE_KEY_FILE: checking structure only (sops metadata, age recipients, MAC present, every value encrypted); nothing is decrypted")
	}
	failed := 0
	for _, f := range files {
		if err := checkOne(root, f, withKey); err != nil {
			fmt.Println("FAIL", err)
			failed++
		} else {
			fmt.Println("ok  ", f)
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d files failed", failed, len(files))
	}
	return nil
}

func checkOne(root, f string, withKey bool) error {
	b, err := os.ReadFile(f)
	if err != nil {
		return err
	}
	tree, err := store().LoadEncryptedFile(b)
	if err != nil {
		return fmt.Errorf("%s: not a SOPS file: %v", f, err)
	}
	m := tree.Metadata
	if m.MessageAuthenticationCode == "" || !encValue.MatchString(m.MessageAuthenticationCode) {
		return fmt.Errorf("%s: MAC missing or malformed", f)
	}
	ages := 0
	for _, g := range m.KeyGroups {
		for _, k := range g {
			if k.TypeToIdentifier() == "age" {
				ages++
			}
		}
	}
	if ages == 0 {
		return fmt.Errorf("%s: no age recipient", f)
	}
	// Recipients must be those .sops.yaml asks for today (catches a missed re-encryption after a rotation).
	abs, _ := filepath.Abs(f)
	if conf, err := config.LoadCreationRuleForFile(filepath.Join(root, ".sops.yaml"), abs, nil); err == nil && conf != nil {
		want := map[string]bool{}
		for _, g := range conf.KeyGroups {
			for _, k := range g {
				want[k.ToString()] = true
			}
		}
		for _, g := range m.KeyGroups {
			for _, k := range g {
				if !want[k.ToString()] {
					return fmt.Errorf("%s: encrypted for %s, which .sops.yaml no longer lists (re-encrypt with sops:encrypt -- --rekey)", f, k.ToString())
				}
			}
		}
	}
	// Every value selected by encrypted_regex must be encrypted.
	var doc map[string]any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return fmt.Errorf("%s: %v", f, err)
	}
	for _, key := range []string{"data", "stringData"} {
		vals, _ := doc[key].(map[string]any)
		for k, v := range vals {
			if s, _ := v.(string); !encValue.MatchString(s) {
				return fmt.Errorf("%s: %s.%s is not encrypted", f, key, k)
			}
		}
	}
	if withKey {
		if _, err := decryptFile(f); err != nil {
			return err
		}
	}
	return nil
}
