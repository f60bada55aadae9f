// Command reserveprep prepares the committed-writes benchmark driven by wrk:
// it creates a drop, joins and admits 2N buyers, signs N of them in and
// takes their holds, then writes two request files for bench/wrk/replay.lua:
// N hold requests (one per admitted ticket) and N order requests (one per
// prepared hold, each with its own Idempotency-Key). Each line is
// "METHOD<TAB>path<TAB>ticket<TAB>idempotency key<TAB>body".
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

var client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256}}

func call(method, url, bearer string, body any, out any) error {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return err
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %d %s", method, url, resp.StatusCode, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// parallel runs fn(i) for i in [0, n) on 64 workers and stops at the first error.
func parallel(n int, fn func(i int) error) error {
	var next atomic.Int64
	var first atomic.Value
	var wg sync.WaitGroup
	for w := 0; w < 64; w++ {
		wg.Go(func() {
			for first.Load() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := fn(i); err != nil {
					first.CompareAndSwap(nil, err)
				}
			}
		})
	}
	wg.Wait()
	if err, _ := first.Load().(error); err != nil {
		return err
	}
	return nil
}

func main() {
	base := flag.String("url", "", "Floodgate base URL")
	token := flag.String("admin-token", "", "admin token")
	n := flag.Int("n", 50000, "requests per file")
	holdsOut := flag.String("holds", "holds.tsv", "hold requests file")
	ordersOut := flag.String("orders", "orders.tsv", "order requests file")
	flag.Parse()
	drop := fmt.Sprintf("wrk-%d", time.Now().UnixNano()%1e9)
	if err := call("POST", *base+"/api/v1/drops", *token, map[string]any{
		"id": drop, "name": "Committed writes benchmark", "stock": 2 * *n, "per_customer_limit": 1,
		"admit_per_second": 1000000, "hold_seconds": 3600, "admit_window_seconds": 3600,
		// The tickets are made before the timed runs; this benchmark times
		// committed holds and orders, not the join challenge.
		"challenge_difficulty": 0,
	}, nil); err != nil {
		log.Fatal(err)
	}
	tickets := make([]string, 2**n)
	if err := parallel(2**n, func(i int) error {
		var r struct{ Ticket string }
		err := call("POST", *base+"/api/v1/drops/"+drop+"/queue", "", nil, &r)
		tickets[i] = r.Ticket
		return err
	}); err != nil {
		log.Fatal(err)
	}
	for {
		var d struct {
			AdmittedUpTo int `json:"admitted_up_to"`
		}
		if err := call("GET", *base+"/api/v1/drops/"+drop, "", nil, &d); err != nil {
			log.Fatal(err)
		}
		if d.AdmittedUpTo >= 2**n {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	orders := make([]string, *n)
	if err := parallel(*n, func(i int) error {
		var s struct{ Session string }
		if err := call("POST", *base+"/api/v1/session", "", map[string]string{"email": fmt.Sprintf("b%d-%s@example.com", i, drop)}, &s); err != nil {
			return err
		}
		var h struct{ ID string }
		t := tickets[*n+i]
		if err := call("POST", *base+"/api/v1/drops/"+drop+"/holds", t, map[string]int{"quantity": 1}, &h); err != nil {
			return err
		}
		body, _ := json.Marshal(map[string]string{"session": s.Session})
		orders[i] = strings.Join([]string{"POST", "/api/v1/holds/" + h.ID + "/order", t, fmt.Sprintf("%s-%d", drop, i), string(body)}, "\t")
		return nil
	}); err != nil {
		log.Fatal(err)
	}
	write := func(path string, lines []string) {
		f, err := os.Create(path)
		if err != nil {
			log.Fatal(err)
		}
		w := bufio.NewWriter(f)
		for _, l := range lines {
			fmt.Fprintln(w, l)
		}
		if err := w.Flush(); err != nil {
			log.Fatal(err)
		}
		f.Close()
	}
	holds := make([]string, *n)
	for i := range holds {
		holds[i] = strings.Join([]string{"POST", "/api/v1/drops/" + drop + "/holds", tickets[i], "", `{"quantity":1}`}, "\t")
	}
	write(*holdsOut, holds)
	write(*ordersOut, orders)
	fmt.Println(drop)
}
