package rush

import (
	"fmt"
	"os"
)

// WriteReportFile writes the HTML report of res (WriteReport) to the file
// at path.
func WriteReportFile(path string, res *Result) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := WriteReport(f, res); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Broken returns nil when the rush kept every promise (Clean), and else an
// error that counts what went wrong: floodgate rush --check fails with it.
func (s Summary) Broken() error {
	if s.Clean() {
		return nil
	}
	return fmt.Errorf("the rush broke a promise (oversold %d, lost %d, duplicates %d, 5xx %d, forged/premature/reused tickets taken %d/%d/%d); see the report",
		s.Oversold, s.LostOrders, s.DuplicateOrders, s.Errors5xx, s.ForgedAccepted, s.PrematureAccepted, s.ReuseAccepted)
}
