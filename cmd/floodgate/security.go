package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
)

// minAdminToken is the shortest admin token a server accepts: the token
// opens every admin call, so it must not be guessable.
const minAdminToken = 16

// adminTokenFrom settles the admin token of a command: --admin-token-file
// (the file's first line) or FLOODGATE_ADMIN_TOKEN are the ways to keep it
// out of `ps`; --admin-token on the command line still works, with a
// warning. It refuses a token shorter than minAdminToken.
func adminTokenFrom(fs *flag.FlagSet, token, file string) (string, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("--admin-token-file: %w", err)
		}
		line, _, _ := strings.Cut(string(b), "\n")
		token = strings.TrimSpace(line)
	} else if onCommandLine(fs, "admin-token") {
		slog.Warn("the admin token was given on the command line, where every user of this machine can read it (ps, /proc); use FLOODGATE_ADMIN_TOKEN or --admin-token-file instead")
	}
	if token == "" {
		return "", errors.New("an admin token is required: set FLOODGATE_ADMIN_TOKEN, or pass --admin-token-file or --admin-token")
	}
	if len(token) < minAdminToken {
		return "", fmt.Errorf("the admin token has %d characters; use at least %d random ones (e.g. openssl rand -hex 32)", len(token), minAdminToken)
	}
	return token, nil
}

// onCommandLine reports whether the flag name was set on the command line
// (not from the environment).
func onCommandLine(fs *flag.FlagSet, name string) bool {
	found := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			found = true
		}
	})
	return found
}
