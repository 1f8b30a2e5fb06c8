package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/polybot/polybot/internal/clob"
	"github.com/polybot/polybot/internal/config"
	"github.com/polybot/polybot/internal/secrets"
)

// exUsage is sysexits' EX_USAGE: a command line polybot cannot act on.
const exUsage = 64

func newAuthCmd(g *globalFlags, stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "auth",
		Short: "Manage the CLOB API credentials",
	}
	cmd.AddCommand(newAuthDeriveCmd(g, stdout, stderr))
	return cmd
}

func newAuthDeriveCmd(g *globalFlags, stdout, stderr io.Writer) *cobra.Command {
	var save string
	var print bool
	var nonce int64
	cmd := &cobra.Command{
		Use:   "derive",
		Short: "Derive (or create) the CLOB API credentials of the signing key (L1)",
		Long: `Derive the API credentials of the configured signing key from the CLOB, creating them
when the CLOB has none. --save FILE writes them as 0600 JSON (default: live.credentials_file).
--print writes them to stdout, for systemd-creds encrypt; it is the one place polybot prints a
secret, and only when asked to.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if save != "" && print {
				return &exitError{code: exUsage, err: errors.New("give --save FILE or --print, not both")}
			}
			cfg, _, err := loadConfig(g)
			if err != nil {
				return err
			}
			cfg = withInstalledSecrets(cfg)
			if save == "" && !print {
				save = cfg.Live.CredentialsFile
			}
			if save == "" && !print && cfg.Mode == config.ModeLive && exists(installedCredentials) {
				// The systemd install: where the live drop-in's LoadCredential= reads them.
				save = filepath.Join(installedCredentials, "api")
			}
			if save == "" && !print {
				return &exitError{code: exUsage, err: errors.New("nowhere to put the credentials: pass --save FILE or --print, or set live.credentials_file")}
			}
			key, err := secrets.LoadKey(secrets.KeyOptions{KeyFile: cfg.Live.KeyFile, KeystoreFile: cfg.Live.KeystoreFile, PassphraseFile: cfg.Live.PassphraseFile})
			if err != nil {
				return &exitError{code: exFail, err: fmt.Errorf("signing key: %w", err)}
			}
			c, err := clob.NewClient(clob.Options{BaseURL: cfg.Live.ClobURL, ChainID: int64(cfg.Chain.ChainID), Key: key, Timeout: cfg.Live.RequestTimeout})
			if err != nil {
				return &exitError{code: exFail, err: err}
			}
			defer c.Close()
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			creds, err := c.CreateOrDeriveAPIKey(ctx, nonce)
			if err != nil {
				return &exitError{code: exFail, err: fmt.Errorf("derive API credentials: %w", err)}
			}
			if cfg.Live.SignatureType == 3 {
				fmt.Fprintln(stderr, depositKeyNote(c.Address(), cfg.Live.Funder))
			}
			if print {
				// Deliberately unredacted: Credentials' own JSON hides the secret.
				b, err := json.Marshal(map[string]string{"apiKey": creds.APIKey, "secret": creds.Secret, "passphrase": creds.Passphrase})
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(stdout, "%s\n", b)
				clear(b)
				return err
			}
			if err := secrets.SaveCredentials(save, creds); err != nil {
				return &exitError{code: exFail, err: err}
			}
			fmt.Fprintf(stderr, "API credentials of %s saved to %s (0600)\n", c.Address().Hex(), save)
			return nil
		},
	}
	cmd.Flags().StringVar(&save, "save", "", "write the credentials to this file, 0600 (default live.credentials_file)")
	cmd.Flags().BoolVar(&print, "print", false, "print the credentials as JSON to stdout (for a systemd credential)")
	cmd.Flags().Int64Var(&nonce, "nonce", 0, "L1 nonce of the credentials")
	return cmd
}
