// Measures write+sync latency and CPU of appends into a 64 MiB file that is
// (a) fallocated (raft-wal's way), (b) zero-written and fsynced beforehand,
// (c) plain: grown by each append.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"syscall"
	"time"
)

const segSize = 64 << 20

func cpu() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func prep(dir, mode string) *os.File {
	p := filepath.Join(dir, mode+".seg")
	os.Remove(p)
	f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o644)
	if err != nil {
		panic(err)
	}
	switch mode {
	case "falloc":
		if err := syscall.Fallocate(int(f.Fd()), 0, 0, segSize); err != nil {
			panic(err)
		}
	case "zero":
		buf := make([]byte, 1<<20)
		for off := int64(0); off < segSize; off += int64(len(buf)) {
			if _, err := f.WriteAt(buf, off); err != nil {
				panic(err)
			}
		}
		if err := f.Sync(); err != nil {
			panic(err)
		}
	}
	// sync the dir so the create is not in the first append's journal commit
	d, _ := os.Open(dir)
	d.Sync()
	d.Close()
	return f
}

func main() {
	dir := flag.String("dir", ".", "dir on the disk")
	size := flag.Int("size", 16<<10, "bytes per append")
	n := flag.Int("n", 500, "appends per mode per round")
	rounds := flag.Int("rounds", 3, "rounds of the three modes in turns")
	datasync := flag.Bool("datasync", false, "fdatasync instead of fsync")
	flag.Parse()
	runtime.LockOSThread()
	modes := []string{"falloc", "zero", "plain"}
	data := make([]byte, *size)
	for i := range data {
		data[i] = byte(i*7 + 1)
	}
	for r := 0; r < *rounds; r++ {
		order := modes
		if r%2 == 1 {
			order = []string{"plain", "zero", "falloc"}
		}
		for _, m := range order {
			f := prep(*dir, m)
			lat := make([]time.Duration, 0, *n)
			c0 := cpu()
			t0 := time.Now()
			off := int64(0)
			for i := 0; i < *n; i++ {
				s := time.Now()
				if _, err := f.WriteAt(data, off); err != nil {
					panic(err)
				}
				var err error
				if *datasync {
					err = syscall.Fdatasync(int(f.Fd()))
				} else {
					err = f.Sync()
				}
				if err != nil {
					panic(err)
				}
				lat = append(lat, time.Since(s))
				off += int64(len(data))
				if off+int64(len(data)) > segSize {
					off = 0
				}
			}
			wall := time.Since(t0)
			c := cpu() - c0
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			fmt.Printf("round=%d mode=%-6s size=%dKiB n=%d sync=%s  mean=%6.0fµs p50=%6.0fµs p90=%6.0fµs p99=%6.0fµs  cpu/append=%5.1fµs\n",
				r, m, *size>>10, *n, map[bool]string{true: "fdatasync", false: "fsync"}[*datasync],
				float64(wall.Microseconds())/float64(*n), us(lat[len(lat)/2]), us(lat[len(lat)*9/10]), us(lat[len(lat)*99/100]),
				float64(c.Nanoseconds())/float64(*n)/1000)
			f.Close()
			os.Remove(f.Name())
		}
	}
}

func us(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1000 }
