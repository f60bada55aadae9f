package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
)

// minAdminToken is the shortest admin token a command accepts: the token
// opens every admin call, so it must not be guessable.
const minAdminToken = 16

// adminTokenFrom settles the admin token of a command from its flags
// --admin-token and, where the command has it, --admin-token-file (the
// file's first line). The file or FLOODGATE_ADMIN_TOKEN keep the token out
// of `ps`; --admin-token on the command line still works, with a warning.
// Every command refuses a token shorter than minAdminToken; only an
// optional one (the edge's) may be absent.
func adminTokenFrom(fs *flag.FlagSet, optional bool) (string, error) {
	token, orFile, fromFile := fs.Lookup("admin-token").Value.String(), "", false
	if f := fs.Lookup("admin-token-file"); f != nil {
		orFile = " or --admin-token-file"
		if file := f.Value.String(); file != "" {
			b, err := os.ReadFile(file)
			if err != nil {
				return "", fmt.Errorf("--admin-token-file: %w", err)
			}
			line, _, _ := strings.Cut(string(b), "\n")
			token, fromFile = strings.TrimSpace(line), true
		}
	}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "admin-token" && !fromFile {
			slog.Warn("the admin token was given on the command line, where every user of this machine can read it (ps, /proc); use FLOODGATE_ADMIN_TOKEN" + orFile + " instead")
		}
	})
	switch {
	case token == "" && optional:
		return "", nil
	case token == "":
		return "", errors.New("an admin token is required: set FLOODGATE_ADMIN_TOKEN, or pass --admin-token" + orFile)
	case len(token) < minAdminToken:
		return "", fmt.Errorf("the admin token has %d characters; use at least %d random ones (e.g. openssl rand -hex 32)", len(token), minAdminToken)
	}
	return token, nil
}
