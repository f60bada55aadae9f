package http

import (
	"bytes"
	"encoding/csv"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/floodgate/floodgate"
)

// TestOrdersCSVIsSafeInSpreadsheets writes orders whose fields start like
// formulas and checks that no cell does in the export.
func TestOrdersCSVIsSafeInSpreadsheets(t *testing.T) {
	at := time.Date(2026, 11, 23, 11, 0, 0, 0, time.UTC)
	orders := []floodgate.Order{
		{ID: "o_1", Customer: "=HYPERLINK(\"http://evil\")@example.com", Quantity: 1, Voucher: "+SUM(A1)", Status: "paid", CreatedAt: at},
		{ID: "o_2", Customer: "@cmd", Quantity: 2, Voucher: "-1", Status: "paid", CreatedAt: at},
		{ID: "o_3", Customer: "\tTAB,\"quoted\"\nline", Quantity: 1, Status: "paid", CreatedAt: at},
		{ID: "o_4", Customer: "a@example.com", Quantity: 1, Voucher: "MELON-0001", Status: "paid", CreatedAt: at},
	}
	w := httptest.NewRecorder()
	WriteOrdersCSV(w, "d", orders)
	if ct := w.Header().Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Fatalf("content type %q", ct)
	}
	rows, err := csv.NewReader(bytes.NewReader(w.Body.Bytes())).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 5 {
		t.Fatalf("%d rows", len(rows))
	}
	for _, row := range rows[1:] {
		for _, cell := range row[2:] { // created_at and quantity are ours
			if cell != "" && (cell[0] == '=' || cell[0] == '+' || cell[0] == '-' || cell[0] == '@' || cell[0] == '\t' || cell[0] == '\r') {
				t.Fatalf("cell %q starts like a formula", cell)
			}
		}
	}
	if rows[1][2] != "'=HYPERLINK(\"http://evil\")@example.com" || rows[4][2] != "a@example.com" || rows[3][2] != "'\tTAB,\"quoted\"\nline" {
		t.Fatalf("cells: %q", rows)
	}
}
