package rush

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/floodgate/floodgate/internal/nice"
	"github.com/floodgate/floodgate/internal/pow"
)

// challengeJSON is the join challenge of a 428 answer.
type challengeJSON = pow.Challenge

// solutionJSON is the body of a join that answers a challenge.
type solutionJSON struct {
	Challenge struct {
		ID    string `json:"id"`
		Nonce string `json:"nonce"`
	} `json:"challenge"`
}

func parseChallenge(body []byte) (*challengeJSON, bool) {
	var b struct {
		Challenge *challengeJSON `json:"challenge"`
	}
	if json.Unmarshal(body, &b) != nil || b.Challenge == nil || b.Challenge.Algorithm != "sha256" {
		return nil, false
	}
	return b.Challenge, true
}

// challengeStats is what the challenge cost visitors and bots.
type challengeStats struct {
	visitorChallenges atomic.Int64
	visitorHashes     atomic.Int64
	visitorTime       histogram // wall time of each visitor's solve
	visitorNanos      atomic.Int64
	botChallenges     atomic.Int64
	botSolved         atomic.Int64
	botGaveUp         atomic.Int64 // challenges a bot dropped (expired, or the rush ended)
	botHashes         atomic.Int64
	botNanos          atomic.Int64 // time the bots' solvers spent hashing
	// The highest difficulty seen since the last sample, for the series.
	visitorTop, botTop atomic.Int64
	visitorMax, botMax atomic.Int64
}

func raise(a *atomic.Int64, v int64) {
	for {
		old := a.Load()
		if v <= old || a.CompareAndSwap(old, v) {
			return
		}
	}
}

// solve finds a nonce for ch, checking ctx and the challenge's expiry every
// few thousand hashes. It returns the nonce ("" if it gave up) and the
// hashes it computed.
func solve(ctx context.Context, ch *challengeJSON) (string, int64) {
	prefix, err := base64.RawURLEncoding.DecodeString(ch.Prefix)
	if err != nil || ch.Difficulty < 0 || ch.Difficulty > 64 {
		return "", 0
	}
	buf := make([]byte, len(prefix), len(prefix)+16)
	copy(buf, prefix)
	for i := int64(0); ; i++ {
		if i&0xffff == 0 && i > 0 && (ctx.Err() != nil || time.Now().After(ch.ExpiresAt)) {
			return "", i
		}
		msg := strconv.AppendInt(buf, i, 36)
		sum := sha256.Sum256(msg)
		if pow.LeadingZeroBits(sum[:]) >= ch.Difficulty {
			return string(msg[len(prefix):]), i + 1
		}
	}
}

// answer solves ch for a visitor (in its own goroutine, like a phone does)
// or a bot (in the bots' farm, ServeFarm) and returns the body of the next join,
// or nil when it gave up.
func (r *run) answer(ctx context.Context, v *visitor, ch *challengeJSON) any {
	st := &r.chal
	d := int64(ch.Difficulty)
	var (
		nonce  string
		hashes int64
	)
	if v.bot {
		st.botChallenges.Add(1)
		raise(&st.botTop, d)
		raise(&st.botMax, d)
		a, ok := r.bots.solve(ctx, ch)
		nonce, hashes = a.nonce, a.hashes
		st.botNanos.Add(int64(a.took))
		st.botHashes.Add(hashes)
		if !ok {
			st.botGaveUp.Add(1)
			return nil
		}
		st.botSolved.Add(1)
	} else {
		st.visitorChallenges.Add(1)
		raise(&st.visitorTop, d)
		raise(&st.visitorMax, d)
		start := time.Now()
		nonce, hashes = solve(ctx, ch)
		took := time.Since(start)
		st.visitorHashes.Add(hashes)
		st.visitorNanos.Add(int64(took))
		st.visitorTime.record(took)
		v.challengeTime += took
		if nonce == "" {
			return nil
		}
	}
	var s solutionJSON
	s.Challenge.ID, s.Challenge.Nonce = ch.ID, nonce
	return s
}

// visitorChallengeP50 is the median time real visitors spent on challenges,
// counting those that were asked for none as 0.
func visitorChallengeP50(vs []*visitor) float64 {
	var ts []time.Duration
	for _, v := range vs {
		if !v.bot {
			ts = append(ts, v.challengeTime)
		}
	}
	if len(ts) == 0 {
		return 0
	}
	slices.Sort(ts)
	return float64(ts[len(ts)/2].Microseconds()) / 1000
}

// The bots' farm solves their join challenges: the CPU the bots bring,
// bounded (BotSolvers threads) and reported apart (bot_cpu_seconds). On a
// real farm that CPU is the bots' own machines'; here it shares the cores
// with the visitors' simulation and often the server, so it hashes at the
// lowest priority, with the cycles nothing else wants.
//
// It runs in a process of its own (`floodgate rush --bot-farm`, started by
// the rush with Config.FarmBinary): a thread of the lowest priority inside
// the generator holds one of its scheduler slots while it waits for the
// CPU, and every stop of the world (each garbage collection starts and ends
// with one) waits for it. With the farm in the generator, a collection in
// the opening burst stopped the whole simulation for 170 ms on a busy
// machine. Without a binary (tests that call Run) the same farm runs in
// goroutines of the generator.
//
// The farm reads one challenge a line,
//
//	<id> <difficulty> <expires, Unix ns> <prefix, base64url>
//
// and answers each, in the order they are solved,
//
//	<id> <nonce, or - when it gave up> <hashes> <ns spent> <CPU ns of its thread>
//
// It drops a challenge once it expired, and everything once its input ends.

// ServeFarm is the bots' farm: it solves the challenges read from in on
// solvers threads of the lowest priority and writes their answers to out,
// until in ends.
func ServeFarm(in io.Reader, out io.Writer, solvers int) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var (
		mu     sync.Mutex // queue, ended, out
		cond   = sync.NewCond(&mu)
		queue  []farmTask
		ended  bool
		w      = bufio.NewWriter(out)
		outErr error
		wg     sync.WaitGroup
	)
	for range max(1, solvers) {
		wg.Go(func() {
			// Never unlocked: the thread, with its lowered priority, ends
			// with the goroutine.
			runtime.LockOSThread()
			nice.LowerThreadPriority()
			for {
				mu.Lock()
				for len(queue) == 0 && !ended {
					cond.Wait()
				}
				if ended {
					mu.Unlock()
					return
				}
				t := queue[0]
				queue = queue[1:]
				mu.Unlock()
				cpu0, start := nice.ThreadCPU(), time.Now()
				nonce, hashes := solve(ctx, &t.ch)
				took, cpu := time.Since(start), nice.ThreadCPU()-cpu0
				if nonce == "" {
					nonce = "-"
				}
				mu.Lock()
				if outErr == nil {
					fmt.Fprintf(w, "%d %s %d %d %d\n", t.id, nonce, hashes, took, cpu)
					outErr = w.Flush()
				}
				mu.Unlock()
			}
		})
	}
	sc := bufio.NewScanner(in)
	var err error
	for sc.Scan() {
		t, ok := parseFarmTask(sc.Text())
		if !ok {
			err = fmt.Errorf("bot farm: malformed challenge %q", sc.Text())
			break
		}
		mu.Lock()
		queue = append(queue, t)
		mu.Unlock()
		cond.Signal()
	}
	if err == nil {
		err = sc.Err()
	}
	mu.Lock()
	ended = true
	mu.Unlock()
	cond.Broadcast()
	cancel()
	wg.Wait()
	if err == nil {
		err = outErr
	}
	return err
}

// farmTask is a challenge the farm was asked to solve.
type farmTask struct {
	id uint64
	ch challengeJSON
}

func parseFarmTask(line string) (farmTask, bool) {
	f := strings.Fields(line)
	if len(f) != 4 {
		return farmTask{}, false
	}
	var t farmTask
	var err [3]error
	t.id, err[0] = strconv.ParseUint(f[0], 10, 64)
	t.ch.Difficulty, err[1] = strconv.Atoi(f[1])
	expires, e := strconv.ParseInt(f[2], 10, 64)
	err[2] = e
	for _, e := range err {
		if e != nil {
			return farmTask{}, false
		}
	}
	t.ch.Algorithm, t.ch.Prefix, t.ch.ExpiresAt = "sha256", f[3], time.Unix(0, expires)
	return t, true
}

// botFarm is the rush's side of the farm: it sends each bot's challenge
// and hands the answer back to that bot.
type botFarm struct {
	mu      sync.Mutex // req, next, waiting
	req     io.WriteCloser
	next    uint64
	waiting map[uint64]chan botAnswer
	ended   chan struct{} // the farm's answers ended
	// cpuNanos is the CPU the farm used: its solvers' threads, or (a
	// process) all of it, once it ended.
	cpuNanos atomic.Int64
	stop     func()
}

type botAnswer struct {
	nonce  string
	hashes int64
	took   time.Duration
}

// startFarm starts the farm with n solvers: `bin rush --bot-farm` in a
// process of its own, or in goroutines of this one when bin is "".
func startFarm(bin string, n int) (*botFarm, error) {
	n = max(1, n)
	b := &botFarm{waiting: make(map[uint64]chan botAnswer), ended: make(chan struct{})}
	if bin == "" {
		reqR, reqW := io.Pipe()
		ansR, ansW := io.Pipe()
		// The solvers get scheduler slots of their own.
		prev := runtime.GOMAXPROCS(0)
		runtime.GOMAXPROCS(prev + n)
		served := make(chan struct{})
		go func() {
			ansW.CloseWithError(ServeFarm(reqR, ansW, n))
			close(served)
		}()
		b.req = reqW
		go b.read(ansR, true)
		b.stop = sync.OnceFunc(func() {
			reqW.Close()
			<-served
			<-b.ended
			runtime.GOMAXPROCS(prev)
		})
		return b, nil
	}
	cmd := exec.Command(bin, "rush", "--bot-farm", "--bot-solvers", strconv.Itoa(n))
	cmd.Stderr = os.Stderr
	req, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	ans, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the bots' farm (%s rush --bot-farm): %w", bin, err)
	}
	b.req = req
	go b.read(ans, false)
	b.stop = sync.OnceFunc(func() {
		req.Close()
		<-b.ended
		_ = cmd.Wait()
		if ps := cmd.ProcessState; ps != nil {
			b.cpuNanos.Store(int64(ps.UserTime() + ps.SystemTime()))
		}
	})
	return b, nil
}

// read hands the farm's answers to the bots waiting for them until they
// end; threadCPU adds up the CPU each answer reports.
func (b *botFarm) read(ans io.Reader, threadCPU bool) {
	defer close(b.ended)
	sc := bufio.NewScanner(ans)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 5 {
			continue
		}
		id, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			continue
		}
		var a botAnswer
		if f[1] != "-" {
			a.nonce = f[1]
		}
		a.hashes, _ = strconv.ParseInt(f[2], 10, 64)
		took, _ := strconv.ParseInt(f[3], 10, 64)
		a.took = time.Duration(took)
		if threadCPU {
			cpu, _ := strconv.ParseInt(f[4], 10, 64)
			b.cpuNanos.Add(cpu)
		}
		b.mu.Lock()
		reply := b.waiting[id]
		delete(b.waiting, id)
		b.mu.Unlock()
		if reply != nil {
			reply <- a
		}
	}
	// A farm that ended (or failed) answers no more: whoever still waits
	// gives up.
	_, _ = io.Copy(io.Discard, ans)
}

// solve has the farm solve ch; ok is false when it gave up, or ctx ended
// first.
func (b *botFarm) solve(ctx context.Context, ch *challengeJSON) (a botAnswer, ok bool) {
	if ch.Prefix == "" || strings.ContainsAny(ch.Prefix, " \t\r\n") {
		return a, false
	}
	var expires int64 // 0: long gone, as a challenge without an expiry is to solve
	if !ch.ExpiresAt.IsZero() {
		expires = ch.ExpiresAt.UnixNano()
	}
	reply := make(chan botAnswer, 1)
	b.mu.Lock()
	id := b.next
	b.next++
	b.waiting[id] = reply
	_, err := fmt.Fprintf(b.req, "%d %d %d %s\n", id, ch.Difficulty, expires, ch.Prefix)
	b.mu.Unlock()
	if err == nil {
		select {
		case a = <-reply:
			return a, a.nonce != ""
		case <-ctx.Done():
		case <-b.ended:
		}
	}
	b.mu.Lock()
	delete(b.waiting, id)
	b.mu.Unlock()
	return a, false
}

// close stops the farm and waits for it.
func (b *botFarm) close() { b.stop() }

// cpu is the CPU time the farm used (after close: all of it).
func (b *botFarm) cpu() time.Duration { return time.Duration(b.cpuNanos.Load()) }
