// Command redisreserve is the Redis peer of the reservation benchmark: a
// closed loop of connections, each sending EVALSHA of bench/reserve.lua (one
// reservation: check the customer set, decrement the stock, add the
// customer) and waiting for the answer, like the Go client that measures
// Floodgate's hold+order. It speaks RESP over plain TCP, without pipelining.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:6379", "Redis address")
	script := flag.String("script", "bench/reserve.lua", "the reservation script")
	conns := flag.Int("c", 64, "connections, each with one request in flight")
	dur := flag.Duration("d", 10*time.Second, "how long to measure")
	stock := flag.Int64("stock", 1_000_000_000, "units in stock at the start")
	flag.Parse()
	src, err := os.ReadFile(*script)
	if err != nil {
		log.Fatalf("read the script: %v", err)
	}
	setup, err := dial(*addr)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := setup.cmd("DEL", "stock", "buyers"); err != nil {
		log.Fatal(err)
	}
	if _, err := setup.cmd("SET", "stock", strconv.FormatInt(*stock, 10)); err != nil {
		log.Fatal(err)
	}
	sha, err := setup.cmd("SCRIPT", "LOAD", string(src))
	if err != nil {
		log.Fatal(err)
	}
	var reserved, other atomic.Int64
	var customer atomic.Int64
	lat := make([][]time.Duration, *conns)
	deadline := time.Now().Add(*dur)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range *conns {
		c, err := dial(*addr)
		if err != nil {
			log.Fatal(err)
		}
		wg.Go(func() {
			for time.Now().Before(deadline) {
				cust := strconv.FormatInt(customer.Add(1), 10)
				t := time.Now()
				r, err := c.cmd("EVALSHA", sha, "2", "stock", "buyers", cust)
				if err != nil {
					log.Fatal(err)
				}
				lat[i] = append(lat[i], time.Since(t))
				if r == "1" {
					reserved.Add(1)
				} else {
					other.Add(1)
				}
			}
		})
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	q := func(p float64) float64 {
		if len(all) == 0 {
			return 0
		}
		return float64(all[int(p*float64(len(all)-1))].Microseconds()) / 1000
	}
	out, _ := json.Marshal(map[string]any{
		"mode": "redis-reserve", "connections": *conns, "seconds": secs,
		"reservations": reserved.Load(), "refused": other.Load(),
		"per_second": float64(reserved.Load()) / secs, "p50_ms": q(0.5), "p99_ms": q(0.99),
	})
	fmt.Println(string(out))
}

type conn struct {
	c net.Conn
	r *bufio.Reader
	w *bufio.Writer
}

func dial(addr string) (*conn, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("connect to Redis at %s: %w", addr, err)
	}
	return &conn{c: c, r: bufio.NewReader(c), w: bufio.NewWriter(c)}, nil
}

// cmd sends one command and reads a simple, integer or bulk string reply.
func (c *conn) cmd(args ...string) (string, error) {
	fmt.Fprintf(c.w, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(c.w, "$%d\r\n%s\r\n", len(a), a)
	}
	if err := c.w.Flush(); err != nil {
		return "", err
	}
	line, err := c.r.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	switch line[0] {
	case '+', ':':
		return line[1:], nil
	case '-':
		return "", fmt.Errorf("redis: %s", line[1:])
	case '$':
		n, _ := strconv.Atoi(line[1:])
		if n < 0 {
			return "", nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(c.r, buf); err != nil {
			return "", err
		}
		return string(buf[:n]), nil
	}
	return "", fmt.Errorf("redis: unexpected reply %q", line)
}
