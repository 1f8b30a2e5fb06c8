package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"
	"golang.org/x/sys/unix"

	"github.com/polybot/polybot/internal/chain"
	"github.com/polybot/polybot/internal/clob"
	"github.com/polybot/polybot/internal/config"
	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/secrets"
)

// setupStdin is where `polybot setup` reads the hex key; a variable so that tests can feed it.
var setupStdin io.Reader = os.Stdin

// installedConfig is the config file of the systemd install.
const installedConfig = "/etc/polybot/polybot.yaml"

// installedDropIn is where `make install` (scripts/install.sh, default PREFIX) puts the live drop-in.
const installedDropIn = "/usr/local/share/polybot/live.conf.example"

type setupOptions struct {
	keyFile, credsFile       string
	keystore, passphraseFile string
	signatureType            int
	funder                   string
	systemd, force           bool
	nonce                    int64
}

func newSetupCmd(g *globalFlags, stdout, stderr io.Writer) *cobra.Command {
	var o setupOptions
	cmd := &cobra.Command{
		Use:   "setup",
		Short: "Set up live trading: key file, API credentials, wallet type, config, preflight",
		Long: `Set up live trading in one step (docs/first-live-copy.md):
  1. the signing key: the hex private key read from stdin (not echoed on a terminal, never
     printed) into a 0600 key file, or an encrypted keystore (--keystore with --passphrase-file);
  2. the CLOB API credentials, derived (or created) with the key, saved 0600;
  3. the signature type and funder: given with --signature-type/--funder, or detected on
     Polygon from the proxy wallet or Safe deployed for the key (their addresses follow from the
     key's address); with neither deployed, EOA (0) is assumed and said so;
  4. the config (--config, default ./polybot.yaml; /etc/polybot/polybot.yaml with --systemd):
     mode: live and the live.* keys are added; a different value already there is kept and
     reported unless --force;
  5. preflight, then the next command.
With --systemd the key and credentials go to /etc/polybot/credentials/{key,api} (directory
0700, files 0600), where the live drop-in's LoadCredential= lines read them.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			return runSetup(ctx, g, o, stdout, stderr)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.keyFile, "key-file", "", "where to write the hex key (default polybot-key beside the config)")
	f.StringVar(&o.credsFile, "credentials-file", "", "where to write the API credentials (default polybot-api.json beside the config)")
	f.StringVar(&o.keystore, "keystore", "", "use this encrypted go-ethereum keystore instead of a key on stdin")
	f.StringVar(&o.passphraseFile, "passphrase-file", "", "the keystore's passphrase file (0600)")
	f.IntVar(&o.signatureType, "signature-type", -1, "0 EOA, 1 proxy wallet, 2 Safe, 3 deposit wallet (default: detect)")
	f.StringVar(&o.funder, "funder", "", "the wallet that holds the funds (types 1-3; derived for 1 and 2 on Polygon)")
	f.BoolVar(&o.systemd, "systemd", false, "write the secrets where the systemd install reads them (/etc/polybot/credentials)")
	f.BoolVar(&o.force, "force", false, "replace a different key file or config value already there")
	f.Int64Var(&o.nonce, "nonce", 0, "L1 nonce of the API credentials")
	return cmd
}

func runSetup(ctx context.Context, g *globalFlags, o setupOptions, stdout, stderr io.Writer) error {
	usage := func(format string, a ...any) error {
		return &exitError{code: exUsage, err: fmt.Errorf(format, a...)}
	}
	if (o.keystore == "") != (o.passphraseFile == "") {
		return usage("--keystore and --passphrase-file go together")
	}
	if o.signatureType < -1 || o.signatureType > 3 {
		return usage("--signature-type %d: give 0 (EOA), 1 (proxy), 2 (Safe) or 3 (deposit wallet)", o.signatureType)
	}
	if o.funder != "" && !common.IsHexAddress(o.funder) {
		return usage("--funder is not an address")
	}
	if o.systemd && (o.keyFile != "" || o.credsFile != "") {
		return usage("--systemd writes the secrets to %s: drop --key-file and --credentials-file", installedCredentials)
	}
	path := g.configPath
	if path == "" {
		path = "polybot.yaml"
		if o.systemd {
			path = installedConfig
		}
	}
	path, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if o.keyFile == "" {
		o.keyFile = filepath.Join(dir, secrets.KeyCredential)
	}
	if o.credsFile == "" {
		o.credsFile = filepath.Join(dir, secrets.APICredential+".json")
	}
	if o.systemd {
		o.keyFile = filepath.Join(installedCredentials, "key")
		o.credsFile = filepath.Join(installedCredentials, "api")
	}
	o.keyFile, _ = filepath.Abs(o.keyFile)
	o.credsFile, _ = filepath.Abs(o.credsFile)

	// The settings to reach the chain and the CLOB: the config's when there is one.
	base := config.Default()
	old, err := os.ReadFile(path)
	switch {
	case err == nil:
		gg := *g
		gg.configPath = path
		if base, _, err = loadConfig(&gg); err != nil {
			return err
		}
	case errors.Is(err, fs.ErrNotExist):
		old = nil
	default:
		return &exitError{code: exFail, err: fmt.Errorf("read config: %w", err)}
	}

	// 1. The key.
	key, err := setupKey(o, stderr)
	if err != nil {
		return err
	}
	signer := crypto.PubkeyToAddress(key.PublicKey)
	// 3 before 1 and 2: a wallet setup cannot settle stops it before it writes anything.
	st, funder, note, err := detectWallet(ctx, base, signer, o)
	if err != nil {
		return err
	}
	if o.keystore == "" || o.systemd {
		if o.systemd {
			if err := secureDir(installedCredentials); err != nil {
				return &exitError{code: exFail, err: err}
			}
		}
		wrote, err := writeKeyFile(o.keyFile, key, o.force)
		if err != nil {
			return err
		}
		if wrote {
			fmt.Fprintf(stdout, "signing key of %s written to %s (0600)\n", signer.Hex(), o.keyFile)
		} else {
			fmt.Fprintf(stdout, "signing key of %s already in %s\n", signer.Hex(), o.keyFile)
		}
	} else {
		fmt.Fprintf(stdout, "signing key of %s read from the keystore %s\n", signer.Hex(), o.keystore)
	}

	// 2. The API credentials.
	c, err := clob.NewClient(clob.Options{BaseURL: base.Live.ClobURL, ChainID: int64(base.Chain.ChainID), Key: key, Timeout: base.Live.RequestTimeout})
	if err != nil {
		return &exitError{code: exFail, err: err}
	}
	creds, err := c.CreateOrDeriveAPIKey(ctx, o.nonce)
	c.Close()
	if err != nil {
		return &exitError{code: exFail, err: fmt.Errorf("derive API credentials: %w (is live.clob_url right and reachable?)", err)}
	}
	if err := secrets.SaveCredentials(o.credsFile, creds); err != nil {
		return &exitError{code: exFail, err: err}
	}
	fmt.Fprintf(stdout, "API credentials saved to %s (0600)\n", o.credsFile)
	fmt.Fprintf(stdout, "wallet: %s\n", note)
	if st == 3 {
		fmt.Fprintln(stdout, depositKeyNote(signer, funder))
	}

	// 4. The config.
	keys := []yamlSetting{{path: []string{"mode"}, value: string(config.ModeLive), replace: true}}
	live := func(key, value string) yamlSetting { return yamlSetting{path: []string{"live", key}, value: value} }
	switch {
	case o.systemd:
		// The unit gets the secrets from LoadCredential=; the config names no file.
		keys = append(keys, live("key_file", ""), live("keystore_file", ""), live("passphrase_file", ""), live("credentials_file", ""))
	case o.keystore != "":
		ks, _ := filepath.Abs(o.keystore)
		pf, _ := filepath.Abs(o.passphraseFile)
		keys = append(keys, live("key_file", ""), live("keystore_file", ks), live("passphrase_file", pf), live("credentials_file", o.credsFile))
	default:
		keys = append(keys, live("key_file", o.keyFile), live("keystore_file", ""), live("passphrase_file", ""), live("credentials_file", o.credsFile))
	}
	keys = append(keys, yamlSetting{path: []string{"live", "signature_type"}, value: strconv.Itoa(st), int: true})
	fv := ""
	if funder != (common.Address{}) {
		fv = funder.Hex()
	}
	keys = append(keys, yamlSetting{path: []string{"live", "funder"}, value: fv, address: true})
	changed, err := updateConfig(path, old, keys, o.force)
	if err != nil {
		return err
	}
	if len(changed) == 0 {
		fmt.Fprintf(stdout, "config %s already set up\n", path)
	} else {
		fmt.Fprintf(stdout, "config %s: set %s\n", path, strings.Join(changed, ", "))
	}

	// 5. Check it all as the daemon will see it, then say what comes next.
	gg := *g
	gg.configPath = path
	cfg, _, err := loadConfig(&gg)
	if err != nil {
		fmt.Fprintf(stdout, "\nNext: fix the config, then: polybot check-config --config %s\n", path)
		return err
	}
	cfg = withInstalledSecrets(cfg)
	if err := liveKeyProblem(cfg); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "\npreflight:")
	failed := printChecks(stdout, preflight(ctx, cfg, ""))
	if failed > 0 {
		fmt.Fprintf(stdout, "\nNext: fix what failed above, then: polybot preflight --config %s\n", path)
		return &exitError{code: exFail, err: fmt.Errorf("preflight: %d check(s) failed", failed)}
	}
	fmt.Fprintln(stdout, "\nNext:")
	if o.systemd {
		fmt.Fprintf(stdout, "  install -d -m 0755 /etc/systemd/system/polybot.service.d\n")
		fmt.Fprintf(stdout, "  install -m 0644 %s /etc/systemd/system/polybot.service.d/live.conf\n", installedDropIn)
		fmt.Fprintf(stdout, "  systemctl daemon-reload\n")
		fmt.Fprintf(stdout, "  polybot check-config --config %s && systemctl start polybot\n", path)
	} else {
		fmt.Fprintf(stdout, "  polybot check-config --config %s && polybot run --config %s\n", path, path)
	}
	return nil
}

// setupKey loads the keystore, or reads the hex key from stdin: without echo on a terminal.
func setupKey(o setupOptions, stderr io.Writer) (*ecdsa.PrivateKey, error) {
	if o.keystore != "" {
		key, err := secrets.LoadKey(secrets.KeyOptions{KeystoreFile: o.keystore, PassphraseFile: o.passphraseFile})
		if err != nil {
			return nil, &exitError{code: exFail, err: fmt.Errorf("keystore: %w", err)}
		}
		return key, nil
	}
	raw, err := readHidden(setupStdin, stderr)
	if err != nil {
		return nil, &exitError{code: exFail, err: err}
	}
	defer clear(raw)
	s := bytes.TrimSpace(raw)
	if len(s) >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		s = s[2:]
	}
	if len(s) == 0 {
		return nil, &exitError{code: exUsage, err: errors.New("no key on stdin: pipe the hex private key in (or type it at the prompt), or give --keystore FILE --passphrase-file FILE")}
	}
	if len(s) != 64 {
		return nil, &exitError{code: exUsage, err: fmt.Errorf("the key on stdin must be 64 hex digits (0x optional); it has %d characters", len(s))}
	}
	b := make([]byte, 32)
	defer clear(b)
	if _, err := hex.Decode(b, s); err != nil {
		return nil, &exitError{code: exUsage, err: errors.New("the key on stdin is not hexadecimal")} // never quote it
	}
	key, err := crypto.ToECDSA(b)
	if err != nil {
		return nil, &exitError{code: exUsage, err: errors.New("the key on stdin is not a valid secp256k1 key")}
	}
	return key, nil
}

// readHidden reads one secret line from in. On a terminal it prompts on stderr and turns echo
// off while the line is typed; from a pipe it reads at most 4 KiB.
func readHidden(in io.Reader, stderr io.Writer) ([]byte, error) {
	if f, ok := in.(*os.File); ok {
		fd := int(f.Fd())
		if old, err := unix.IoctlGetTermios(fd, unix.TCGETS); err == nil {
			quiet := *old
			quiet.Lflag &^= unix.ECHO
			quiet.Lflag |= unix.ICANON | unix.ECHONL
			if err := unix.IoctlSetTermios(fd, unix.TCSETS, &quiet); err != nil {
				return nil, fmt.Errorf("turn off the terminal's echo: %w", err)
			}
			defer func() { _ = unix.IoctlSetTermios(fd, unix.TCSETS, old) }()
			// Only now: what is typed after the prompt is never echoed.
			fmt.Fprint(stderr, "Private key (hex, not shown): ")
			line, err := readLine(f)
			fmt.Fprintln(stderr)
			return line, err
		}
	}
	b, err := io.ReadAll(io.LimitReader(in, 4<<10))
	if err != nil {
		return nil, fmt.Errorf("read the key from stdin: %w", err)
	}
	return b, nil
}

func readLine(r io.Reader) ([]byte, error) {
	var out []byte
	one := make([]byte, 1)
	for len(out) < 4<<10 {
		n, err := r.Read(one)
		if n == 1 {
			if one[0] == '\n' {
				break
			}
			out = append(out, one[0])
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			clear(out)
			return nil, fmt.Errorf("read the key: %w", err)
		}
	}
	return out, nil
}

// secureDir creates dir as a directory only its owner can enter (0700).
func secureDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("make %s 0700: %w", dir, err)
	}
	return nil
}

// writeKeyFile writes key as hex to path, 0600, atomically. A file already holding the same key
// is left alone; one holding another key (or anything else) is replaced only with force.
func writeKeyFile(path string, key *ecdsa.PrivateKey, force bool) (bool, error) {
	if _, err := os.Stat(path); err == nil {
		if have, err := secrets.LoadKey(secrets.KeyOptions{KeyFile: path}); err == nil && have.D.Cmp(key.D) == 0 {
			return false, nil
		}
		if !force {
			return false, &exitError{code: exFail, err: fmt.Errorf("%s already exists and holds another key (or is unreadable): move it away, or pass --force to replace it", path)}
		}
	}
	raw := crypto.FromECDSA(key)
	defer clear(raw)
	buf := make([]byte, hex.EncodedLen(len(raw))+1)
	defer clear(buf)
	hex.Encode(buf, raw)
	buf[len(buf)-1] = '\n'
	if err := writeAtomic(path, buf, 0o600); err != nil {
		return false, &exitError{code: exFail, err: fmt.Errorf("write the key file: %w", err)}
	}
	return true, nil
}

// writeAtomic writes data to a temporary file in path's directory with mode, syncs it and
// renames it over path.
func writeAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	name := tmp.Name()
	err = tmp.Chmod(mode)
	if err == nil {
		_, err = tmp.Write(data)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(name, path)
	}
	if err != nil {
		_ = os.Remove(name)
	}
	return err
}

// detectWallet settles the signature type and funder. Given flags win (a funder of type 1 or
// 2 that is not the one derived from the signer is refused: the exchange checks that derivation,
// docs/live-trading.md). Otherwise, on Polygon, the chain says which of the signer's proxy
// wallet, Safe and deposit wallet is deployed.
func detectWallet(ctx context.Context, cfg *config.Config, signer common.Address, o setupOptions) (int, common.Address, string, error) {
	dial := func() (codeReader, func(), error) {
		rpc, err := chain.Dial(ctx, cfg.Chain.RPCURL, cfg.Chain.ChainID, cfg.Chain.DialTimeout)
		if err != nil {
			return nil, nil, err
		}
		coder, ok := rpc.(codeReader)
		if !ok {
			rpc.Close()
			return nil, nil, errors.New("this RPC client cannot read code")
		}
		return coder, rpc.Close, nil
	}
	return detectWalletWith(ctx, cfg.Chain.ChainID, signer, o, dial)
}

// codeReader reads the code deployed at an address (go-ethereum's ethclient has it).
type codeReader interface {
	CodeAt(ctx context.Context, account common.Address, block *big.Int) ([]byte, error)
}

func detectWalletWith(ctx context.Context, chainID uint64, signer common.Address, o setupOptions, dial func() (codeReader, func(), error)) (int, common.Address, string, error) {
	usage := func(format string, a ...any) (int, common.Address, string, error) {
		return 0, common.Address{}, "", &exitError{code: exUsage, err: fmt.Errorf(format, a...)}
	}
	polygon := chainID == polymarket.PolygonChainID
	derived := map[int]common.Address{1: polymarket.ProxyWallet(signer), 2: polymarket.SafeWallet(signer), 3: polymarket.DepositWallet(signer)}
	given := common.HexToAddress(o.funder)
	switch o.signatureType {
	case 0:
		if o.funder != "" && given != signer {
			return usage("--signature-type 0 (EOA) trades from the signer %s itself: drop --funder", signer.Hex())
		}
		return 0, common.Address{}, "EOA (signature type 0): the signer holds the funds (given)", nil
	case 1, 2:
		name := map[int]string{1: "proxy wallet", 2: "Safe"}[o.signatureType]
		if o.funder == "" {
			if !polygon {
				return usage("chain %d has no Polymarket wallet factories to derive the %s from: give --funder", chainID, name)
			}
			return o.signatureType, derived[o.signatureType], fmt.Sprintf("%s (signature type %d) %s, derived from the signer", name, o.signatureType, derived[o.signatureType].Hex()), nil
		}
		if polygon && given != derived[o.signatureType] {
			return usage("--funder %s is not the %s of the signer %s (that is %s): the exchange would refuse its orders", given.Hex(), name, signer.Hex(), derived[o.signatureType].Hex())
		}
		return o.signatureType, given, fmt.Sprintf("%s (signature type %d) %s (given)", name, o.signatureType, given.Hex()), nil
	case 3:
		wallets := polymarket.WalletsOf(signer)
		if o.funder == "" {
			if !polygon {
				return usage("chain %d has no Polymarket deposit wallet factory to derive the deposit wallet from: give --funder", chainID)
			}
			return 3, wallets.Address(polymarket.WalletDeposit), fmt.Sprintf("deposit wallet (signature type 3) %s, derived from the signer (the legacy address %s is used instead where it is deployed: give it with --funder)",
				wallets.Address(polymarket.WalletDeposit).Hex(), polymarket.DepositWalletUUPS(signer).Hex()), nil
		}
		if polygon && wallets.KindOf(given) != polymarket.WalletDeposit {
			return usage("--funder %s is not the deposit wallet of the signer %s (that is %s, or %s for a wallet deployed before the factory's upgrade): the exchange would refuse its orders",
				given.Hex(), signer.Hex(), wallets.Address(polymarket.WalletDeposit).Hex(), polymarket.DepositWalletUUPS(signer).Hex())
		}
		return 3, given, fmt.Sprintf("deposit wallet (signature type 3) %s (given)", given.Hex()), nil
	}
	if o.funder != "" {
		return usage("--funder needs --signature-type (1 proxy, 2 Safe, 3 deposit wallet)")
	}
	const deposit = "; an account made after the V2 cutover trades from a deposit wallet, which Polymarket deploys when the account is set up on polymarket.com: then run setup again with --signature-type 3 --force"
	if !polygon {
		return 0, common.Address{}, fmt.Sprintf("EOA (signature type 0) assumed: chain %d has no Polymarket wallet factories%s", chainID, deposit), nil
	}
	coder, closeRPC, err := dial()
	if err != nil {
		return 0, common.Address{}, "", &exitError{code: exFail, err: fmt.Errorf("detect the wallet type: %w; give --signature-type (and --funder) instead", err)}
	}
	defer closeRPC()
	var found []int
	// The deposit wallet: the legacy UUPS address where deployed, else the current one.
	candidates := map[int][]common.Address{1: {derived[1]}, 2: {derived[2]}, 3: {polymarket.DepositWalletUUPS(signer), polymarket.DepositWallet(signer)}}
	for _, t := range []int{1, 2, 3} {
		for _, a := range candidates[t] {
			code, err := coder.CodeAt(ctx, a, nil)
			if err != nil {
				return 0, common.Address{}, "", &exitError{code: exFail, err: fmt.Errorf("detect the wallet type: read code at %s: %w; give --signature-type (and --funder) instead", a.Hex(), err)}
			}
			if len(code) > 0 {
				found, derived[t] = append(found, t), a
				break
			}
		}
	}
	name := map[int]string{1: "proxy wallet", 2: "Safe", 3: "deposit wallet"}
	switch len(found) {
	case 0:
	case 1:
		t := found[0]
		return t, derived[t], fmt.Sprintf("%s (signature type %d) %s: deployed on chain for the signer", name[t], t, derived[t].Hex()), nil
	default:
		var list []string
		for _, t := range found {
			list = append(list, fmt.Sprintf("%s %s (--signature-type %d)", name[t], derived[t].Hex(), t))
		}
		return usage("the signer %s has several wallets deployed: %s; say which holds the funds with --signature-type", signer.Hex(), strings.Join(list, ", "))
	}
	return 0, common.Address{}, fmt.Sprintf("EOA (signature type 0) assumed: neither the proxy wallet %s, the Safe %s nor the deposit wallet %s of the signer is deployed%s",
		derived[1].Hex(), derived[2].Hex(), derived[3].Hex(), deposit), nil
}

// yamlSetting is one config key setup sets. An empty value means the key must be absent or
// empty (and is removed). replace lets setup change a value already there without --force.
type yamlSetting struct {
	path         []string
	value        string
	int, address bool
	replace      bool
}

// updateConfig sets keys in the YAML file at path (old is its content, nil when there is none),
// keeping everything else, comments included. A key that already holds another value is a
// conflict unless force. It returns the keys it changed.
func updateConfig(path string, old []byte, keys []yamlSetting, force bool) ([]string, error) {
	var doc yaml.Node
	if len(bytes.TrimSpace(old)) > 0 {
		if err := yaml.Unmarshal(old, &doc); err != nil {
			return nil, &exitError{code: exConfig, err: fmt.Errorf("invalid config: %s: %w", path, err)}
		}
	}
	if doc.Kind == 0 {
		doc = yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode}}}
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, &exitError{code: exConfig, err: fmt.Errorf("invalid config: %s is not a mapping of keys", path)}
	}
	var changed, conflicts []string
	for _, k := range keys {
		m, absent := root, false
		for _, p := range k.path[:len(k.path)-1] {
			next := lookup(m, p)
			if next == nil {
				if k.value == "" {
					absent = true // nothing to remove
					break
				}
				next = &yaml.Node{Kind: yaml.MappingNode}
				m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: p}, next)
			}
			m = next
		}
		if absent {
			continue
		}
		name := strings.Join(k.path, ".")
		if m.Kind != yaml.MappingNode {
			conflicts = append(conflicts, name+" (its parent is not a mapping)")
			continue
		}
		last := k.path[len(k.path)-1]
		i := index(m, last)
		if i >= 0 {
			have := m.Content[i+1]
			if sameValue(have, k) {
				continue
			}
			if !k.replace && !force && !(have.Kind == yaml.ScalarNode && have.Value == "") {
				conflicts = append(conflicts, fmt.Sprintf("%s is %q, setup would set %q", name, have.Value, k.value))
				continue
			}
			if k.value == "" {
				m.Content = append(m.Content[:i], m.Content[i+2:]...)
			} else {
				*have = *scalar(k)
			}
			changed = append(changed, name)
			continue
		}
		if k.value == "" {
			continue
		}
		kn := &yaml.Node{Kind: yaml.ScalarNode, Value: last}
		if m == root && len(m.Content) > 0 {
			// A top-level key (mode) goes first, where it is seen, under the file's opening comment.
			kn.HeadComment, m.Content[0].HeadComment = m.Content[0].HeadComment, ""
			m.Content = append([]*yaml.Node{kn, scalar(k)}, m.Content...)
		} else {
			m.Content = append(m.Content, kn, scalar(k))
		}
		changed = append(changed, name)
	}
	if len(conflicts) > 0 {
		return nil, &exitError{code: exConfig, err: fmt.Errorf("config %s already says otherwise, left unchanged: %s; pass --force to replace", path, strings.Join(conflicts, "; "))}
	}
	if len(changed) == 0 {
		return nil, nil
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	_ = enc.Close()
	mode := os.FileMode(0o644) // the config holds no secret; the service's user must read it
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
	}
	if err := writeAtomic(path, buf.Bytes(), mode); err != nil {
		return nil, &exitError{code: exFail, err: fmt.Errorf("write config: %w", err)}
	}
	return changed, nil
}

func index(m *yaml.Node, key string) int {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return i
		}
	}
	return -1
}

func lookup(m *yaml.Node, key string) *yaml.Node {
	if i := index(m, key); i >= 0 {
		return m.Content[i+1]
	}
	return nil
}

func sameValue(have *yaml.Node, k yamlSetting) bool {
	if have.Kind != yaml.ScalarNode {
		return false
	}
	switch {
	case k.address:
		return strings.EqualFold(have.Value, k.value)
	case k.int:
		a, err1 := strconv.Atoi(have.Value)
		b, err2 := strconv.Atoi(k.value)
		return err1 == nil && err2 == nil && a == b
	}
	return have.Value == k.value
}

func scalar(k yamlSetting) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Value: k.value, Tag: "!!str"}
	if k.int {
		n.Tag = "!!int"
	}
	if k.address {
		n.Style = yaml.DoubleQuotedStyle
	}
	return n
}
