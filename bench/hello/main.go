// Command hello is the baseline of the queue-status benchmark: the smallest
// useful Go net/http server, answering every request with a short JSON body
// the size of a queue status.
package main

import (
	"flag"
	"log"
	"net/http"
	"strconv"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8090", "address to listen on")
	flag.Parse()
	body := []byte(`{"state":"waiting","position":4711,"ahead":4000,"eta_seconds":2}` + "\n")
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		_, _ = w.Write(body)
	})
	log.Fatal(http.ListenAndServe(*addr, nil))
}
