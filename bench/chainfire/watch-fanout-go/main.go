// The watchers of watch-fanout.ts written with etcd's own client (clientv3 from Debian's
// golang-etcd-server-dev), a client much cheaper per event than a JavaScript one, so the benchmark
// measures the servers: watch-fanout-go ENDPOINT STREAMS WATCHES_PER_STREAM EXPECTED_EVENTS OUT_FILE.
// Same protocol as watch-fanout-watchers.ts: STREAMS clients (one gRPC connection and one Watch
// stream each) with WATCHES_PER_STREAM watches on the prefix "wf/"; prints "created" once every
// watch is; records each event's (mod_revision, wall-clock ms) until EXPECTED_EVENTS arrived or
// "stop" comes on stdin; writes the pairs to OUT_FILE as little-endian float64s, prints "done R"
// (R: responses that carried events) and exits on "exit".
package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/clientv3"
)

func main() {
	if len(os.Args) != 6 {
		fmt.Fprintln(os.Stderr, "usage: watch-fanout-go ENDPOINT STREAMS WATCHES_PER_STREAM EXPECTED_EVENTS OUT_FILE")
		os.Exit(2)
	}
	streams, _ := strconv.Atoi(os.Args[2])
	perStream, _ := strconv.Atoi(os.Args[3])
	expected, _ := strconv.ParseInt(os.Args[4], 10, 64)
	ctx, cancel := context.WithCancel(context.Background())
	var delivered, responses int64
	finished := make(chan struct{})
	var finishOnce sync.Once
	finish := func() { finishOnce.Do(func() { close(finished) }) }
	var created sync.WaitGroup
	var readers sync.WaitGroup
	received := make([][]float64, streams*perStream)
	for s := 0; s < streams; s++ {
		c, err := clientv3.New(clientv3.Config{Endpoints: []string{os.Args[1]}, DialTimeout: 5 * time.Second})
		if err != nil {
			panic(err)
		}
		for i := 0; i < perStream; i++ {
			created.Add(1)
			readers.Add(1)
			ch := c.Watch(ctx, "wf/", clientv3.WithPrefix(), clientv3.WithCreatedNotify())
			mine := &received[s*perStream+i]
			go func() {
				defer readers.Done()
				for resp := range ch {
					if resp.Created {
						created.Done()
						continue
					}
					if len(resp.Events) == 0 {
						continue
					}
					atomic.AddInt64(&responses, 1)
					now := float64(time.Now().UnixNano()) / 1e6
					for _, ev := range resp.Events {
						*mine = append(*mine, float64(ev.Kv.ModRevision), now)
					}
					if atomic.AddInt64(&delivered, int64(len(resp.Events))) >= expected {
						finish()
					}
				}
			}()
		}
	}
	created.Wait()
	fmt.Println("created")
	go func() {
		in := bufio.NewScanner(os.Stdin)
		for in.Scan() {
			if strings.Contains(in.Text(), "stop") {
				finish()
			}
			if strings.Contains(in.Text(), "exit") {
				os.Exit(0)
			}
		}
		os.Exit(0) // stdin closed: the parent is gone
	}()
	<-finished
	cancel()
	readers.Wait()
	var out []byte
	for _, pairs := range received {
		for _, x := range pairs {
			out = binary.LittleEndian.AppendUint64(out, math.Float64bits(x))
		}
	}
	if err := os.WriteFile(os.Args[5], out, 0o644); err != nil {
		panic(err)
	}
	fmt.Println("done", atomic.LoadInt64(&responses))
	select {} // until "exit" (or EOF) on stdin
}
