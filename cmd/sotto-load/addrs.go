package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// maxSourceAddrs bounds a --source-addrs list, so that a typo such as
// 127.0.0.2-127.255.0.0 does not allocate millions of addresses.
const maxSourceAddrs = 65536

// parseSourceAddrs parses --source-addrs: a comma-separated list of IP
// addresses and inclusive IPv4 ranges FIRST-LAST, e.g.
// "127.0.0.2-127.0.0.50" or "127.0.0.2,127.0.0.3,::1". Empty means none
// (the kernel picks the source address).
func parseSourceAddrs(s string) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		first, last, isRange := strings.Cut(part, "-")
		a, err := netip.ParseAddr(strings.TrimSpace(first))
		if err != nil {
			return nil, fmt.Errorf("--source-addrs: %q is not an IP address", first)
		}
		if !isRange {
			out = append(out, a)
			continue
		}
		b, err := netip.ParseAddr(strings.TrimSpace(last))
		if err != nil {
			return nil, fmt.Errorf("--source-addrs: %q is not an IP address", last)
		}
		if !a.Is4() || !b.Is4() {
			return nil, fmt.Errorf("--source-addrs: ranges must be IPv4 (%q)", part)
		}
		lo, hi := v4(a), v4(b)
		if hi < lo {
			return nil, fmt.Errorf("--source-addrs: range %q ends before it starts", part)
		}
		if hi-lo+1 > maxSourceAddrs || len(out)+int(hi-lo+1) > maxSourceAddrs {
			return nil, fmt.Errorf("--source-addrs: more than %d addresses", maxSourceAddrs)
		}
		for x := lo; ; x++ {
			var buf [4]byte
			binary.BigEndian.PutUint32(buf[:], x)
			out = append(out, netip.AddrFrom4(buf))
			if x == hi {
				break
			}
		}
	}
	if len(out) > maxSourceAddrs {
		return nil, fmt.Errorf("--source-addrs: more than %d addresses", maxSourceAddrs)
	}
	return out, nil
}

func v4(a netip.Addr) uint32 {
	b := a.As4()
	return binary.BigEndian.Uint32(b[:])
}

// sourceDialer dials TCP connections from its source addresses in turn.
// On loopback each source address has its own ~28,000 ephemeral ports
// towards the server's one address and port, so N addresses hold about
// N×28,000 connections.
type sourceDialer struct {
	addrs []netip.Addr
	next  atomic.Uint64
	base  net.Dialer
}

func newSourceDialer(addrs []netip.Addr) *sourceDialer {
	return &sourceDialer{addrs: addrs, base: net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}}
}

// DialContext is an http.Transport DialContext.
func (d *sourceDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if len(d.addrs) == 0 {
		return d.base.DialContext(ctx, network, addr)
	}
	src := d.addrs[(d.next.Add(1)-1)%uint64(len(d.addrs))]
	dl := d.base
	dl.LocalAddr = &net.TCPAddr{IP: src.AsSlice(), Zone: src.Zone()}
	return dl.DialContext(ctx, network, addr)
}

// raiseNofile raises the soft RLIMIT_NOFILE to the hard limit and
// returns the resulting soft limit: every connection is a file.
func raiseNofile() (uint64, error) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, err
	}
	if rl.Cur < rl.Max {
		rl.Cur = rl.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
			return 0, err
		}
	}
	return rl.Cur, nil
}
