// Command pingpong measures this machine's floor for one hop between two
// processes: the round trip of a small message over loopback TCP to a copy
// of itself, sent at a fixed pace so that the other side is idle (its
// threads asleep) when the message comes, as a leader is between a
// follower's forwarded writes. Beside it, the same round trip to a
// goroutine of this process over loopback TCP, and a hand-off to a
// goroutine over a channel and back.
//
//	go run ./bench/pingpong -period 1ms -n 3000
//
// It prints the p50, p90 and p99 of each, one line per kind.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/exec"
	"slices"
	"time"
)

const size = 64 // bytes a message

func main() {
	echoAddr := flag.String("echo", "", "run as the echo process on this address (used by the measuring process)")
	n := flag.Int("n", 2000, "round trips of each kind")
	period := flag.Duration("period", time.Millisecond, "time between two round trips")
	flag.Parse()
	if *echoAddr != "" {
		l, err := net.Listen("tcp", *echoAddr)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("ready")
		echo(l)
		return
	}

	// Another process: a copy of this program.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	cmd := exec.Command(os.Args[0], "-echo", addr)
	out, err := cmd.StdoutPipe()
	if err != nil {
		log.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		log.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	ready := make([]byte, len("ready\n"))
	if _, err := io.ReadFull(out, ready); err != nil {
		log.Fatal("the echo process did not start: ", err)
	}
	report("loopback TCP, another process", tcpTrips(addr, *n, *period))

	// A goroutine of this process.
	l, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go echo(l)
	report("loopback TCP, this process", tcpTrips(l.Addr().String(), *n, *period))

	in, back := make(chan int), make(chan int)
	go func() {
		for v := range in {
			back <- v
		}
	}()
	d := make([]time.Duration, 0, *n)
	for i := range *n {
		time.Sleep(*period)
		t := time.Now()
		in <- i
		<-back
		d = append(d, time.Since(t))
	}
	report("channel to a goroutine and back", d)
}

// echo answers each message on each connection of l with itself.
func echo(l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go func() {
			b := make([]byte, size)
			for {
				if _, err := io.ReadFull(c, b); err != nil {
					return
				}
				if _, err := c.Write(b); err != nil {
					return
				}
			}
		}()
	}
}

// tcpTrips times n round trips to the echo at addr, one each period.
func tcpTrips(addr string, n int, period time.Duration) []time.Duration {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	b := make([]byte, size)
	d := make([]time.Duration, 0, n)
	for range n {
		time.Sleep(period)
		t := time.Now()
		if _, err := c.Write(b); err != nil {
			log.Fatal(err)
		}
		if _, err := io.ReadFull(c, b); err != nil {
			log.Fatal(err)
		}
		d = append(d, time.Since(t))
	}
	return d
}

func report(what string, d []time.Duration) {
	slices.Sort(d)
	q := func(p float64) time.Duration { return d[min(len(d)-1, int(p*float64(len(d))))].Round(time.Microsecond) }
	fmt.Printf("%-34s p50 %-8v p90 %-8v p99 %v\n", what+":", q(0.5), q(0.9), q(0.99))
}
