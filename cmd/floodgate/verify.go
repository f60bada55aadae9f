package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/floodgate/floodgate/fairness"
)

// runVerify audits a drop with public calls only: the revealed seed against
// its commitment, the log against its signed heads, every position and draw
// rank recomputed from the seed, the stock invariant, and a receipt.
func runVerify(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	target := fs.String("target", "http://127.0.0.1:8080", "base URL of any node or edge of the server")
	drop := fs.String("drop", "", "id of the drop to check")
	receipt := fs.String("receipt", "", "file with a receipt (the compact JWS, or an order's JSON with \"receipt\") to check as well")
	if err := parseFlags(fs, args, nil); err != nil {
		return err
	}
	if *drop == "" {
		return errors.New("--drop is required: the id of the drop to check")
	}
	var tok string
	if *receipt != "" {
		b, err := os.ReadFile(*receipt)
		if err != nil {
			return err
		}
		if tok, err = fairness.ReceiptFrom(b); err != nil {
			return fmt.Errorf("%s: %v", *receipt, err)
		}
	}
	a := &fairness.Auditor{Target: *target, Out: os.Stdout}
	if _, err := a.Audit(ctx, *drop, tok); err != nil {
		return err
	}
	fmt.Printf("drop %s: every check passed\n", *drop)
	return nil
}
