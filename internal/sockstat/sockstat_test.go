package sockstat

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"
	"testing"
)

// procAddr writes ip:port the way /proc/net/tcp does on this machine.
func procAddr(ap netip.AddrPort) string {
	b := ap.Addr().AsSlice()
	var s strings.Builder
	for i := 0; i < len(b); i += 4 {
		fmt.Fprintf(&s, "%08X", binary.NativeEndian.Uint32(b[i:]))
	}
	return fmt.Sprintf("%s:%04X", s.String(), ap.Port())
}

func TestParseTableAndView(t *testing.T) {
	srv := netip.MustParseAddrPort("127.0.0.1:35849")
	cli := netip.MustParseAddrPort("127.0.0.1:41000")
	any6 := netip.MustParseAddrPort("[::]:0")
	v6 := netip.MustParseAddrPort("[2001:db8::1]:35849")
	line := func(sl int, l, r netip.AddrPort, st string, inode int) string {
		return fmt.Sprintf("  %d: %s %s %s 00000000:00000000 00:00000000 00000000     0        0 %d 1 0000000000000000 100 0 0 10 0",
			sl, procAddr(l), procAddr(r), st, inode)
	}
	table := strings.Join([]string{
		"  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
		line(0, srv, netip.MustParseAddrPort("0.0.0.0:0"), "0A", 111),
		line(1, srv, cli, "01", 222),
		line(2, cli, srv, "01", 333),
		line(3, srv, netip.MustParseAddrPort("127.0.0.1:41001"), "06", 0),
		line(4, netip.MustParseAddrPort("127.0.0.1:41002"), srv, "06", 0),
		line(5, v6, any6, "0A", 444),
		line(6, netip.MustParseAddrPort("127.0.0.1:9"), cli, "0F", 0), // an unknown state
		"garbage line",
	}, "\n")
	sockets, err := parseTable(strings.NewReader(table))
	if err != nil {
		t.Fatal(err)
	}
	if len(sockets) != 7 {
		t.Fatalf("%d sockets parsed: %+v", len(sockets), sockets)
	}
	if s := sockets[1]; s.Local != srv || s.Remote != cli || s.State != "ESTABLISHED" || s.Inode != 222 {
		t.Fatalf("second socket %+v", s)
	}
	if s := sockets[5]; s.Local != v6 || s.State != "LISTEN" {
		t.Fatalf("IPv6 listener %+v", s)
	}
	if s := sockets[6]; s.State != "STATE_0F" {
		t.Fatalf("unknown state read as %q", s.State)
	}
	v := View(sockets, 35849)
	if len(v.Listeners) != 2 || v.Server["ESTABLISHED"] != 1 || v.Server["TIME_WAIT"] != 1 ||
		v.Client["ESTABLISHED"] != 1 || v.Client["TIME_WAIT"] != 1 {
		t.Fatalf("view %+v", v)
	}
	want := "port 35849: 127.0.0.1:35849 listens (inode 111), [2001:db8::1]:35849 listens (inode 444); " +
		"its connections at the server's end: ESTABLISHED 1, TIME_WAIT 1; at clients' ends: ESTABLISHED 1, TIME_WAIT 1"
	if got := v.String(); got != want {
		t.Fatalf("view reads\n%s\nwant\n%s", got, want)
	}
	if got := View(sockets, 1).String(); got != "port 1: nothing listens; its connections at the server's end: none; at clients' ends: none" {
		t.Fatalf("empty view reads %s", got)
	}
}

func TestParseAddrRejectsGarbage(t *testing.T) {
	for _, s := range []string{"", "0100007F", "0100007F:", "0100007F:GGGG", "01007F:0050", "ZZ00007F:0050", "0100007F:10000"} {
		if ap, err := parseAddr(s); err == nil {
			t.Errorf("parseAddr(%q) = %v, want an error", s, ap)
		}
	}
}
