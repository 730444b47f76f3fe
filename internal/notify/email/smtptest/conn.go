package smtptest

import (
	"bytes"
	"net"
	"strconv"
	"strings"
	"sync"
)

// maxKept bounds how much of one line recConn buffers: enough for any verb
// and to recognise the "." that ends DATA.
const maxKept = 512

// recConn is the accepted TCP connection as go-smtp sees it (below TLS, if
// any). While the connection is in clear it records the verb of every
// command line the client sends. It does not interpret the protocol beyond
// what it needs to tell commands from other client lines: the server's 354
// reply starts message data (up to the "." line), its 334 reply means the
// next line is a SASL response, BDAT is followed by that many octets, and a
// 220 reply after the greeting means STARTTLS was accepted, after which the
// stream is TLS and recording passes to the session callbacks.
type recConn struct {
	net.Conn
	srv *Server

	mu       sync.Mutex
	clear    bool   // still reading commands in clear
	greeted  bool   // the 220 greeting was written
	in, out  []byte // partial client and server lines
	longIn   bool   // in holds only the start of a longer line
	inData   bool   // client is sending DATA content
	sasl     int    // client lines that are SASL responses
	skip     uint64 // BDAT chunk octets still to come
	closeErr error
	closed   bool
}

func newRecConn(c net.Conn, s *Server, clear bool) *recConn {
	return &recConn{Conn: c, srv: s, clear: clear}
}

func (c *recConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.mu.Lock()
		if c.clear {
			c.fromClient(p[:n])
		}
		c.mu.Unlock()
	}
	return n, err
}

func (c *recConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	if c.clear {
		c.fromServer(p)
	}
	c.mu.Unlock()
	return c.Conn.Write(p)
}

// Close closes the connection once and stops tracking it.
func (c *recConn) Close() error {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		c.closeErr = c.Conn.Close()
	}
	err := c.closeErr
	c.mu.Unlock()
	c.srv.forget(c)
	return err
}

func (c *recConn) fromClient(b []byte) {
	for len(b) > 0 {
		if c.skip > 0 {
			k := min(uint64(len(b)), c.skip)
			b, c.skip = b[k:], c.skip-k
			continue
		}
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			c.keep(b)
			return
		}
		c.keep(b[:i])
		b = b[i+1:]
		line := strings.TrimSuffix(string(c.in), "\r")
		long := c.longIn
		c.in, c.longIn = c.in[:0], false
		c.clientLine(line, long)
	}
}

func (c *recConn) keep(b []byte) {
	if room := maxKept - len(c.in); len(b) > room {
		b, c.longIn = b[:room], true
	}
	c.in = append(c.in, b...)
}

func (c *recConn) clientLine(line string, long bool) {
	switch {
	case c.inData:
		if line == "." && !long {
			c.inData = false
		}
	case c.sasl > 0:
		c.sasl--
	default:
		verb, arg, _ := strings.Cut(line, " ")
		verb = strings.ToUpper(verb)
		c.srv.record(verb, false)
		if verb == "BDAT" {
			c.skip = bdatSize(arg)
		}
	}
}

// bdatSize is the chunk size go-smtp reads after "BDAT arg", or 0 where it
// rejects the arguments without reading a chunk.
func bdatSize(arg string) uint64 {
	f := strings.Fields(arg)
	if len(f) == 0 || len(f) > 2 || (len(f) == 2 && !strings.EqualFold(f[1], "LAST")) {
		return 0
	}
	n, err := strconv.ParseUint(f[0], 10, 32)
	if err != nil {
		return 0
	}
	return n
}

func (c *recConn) fromServer(b []byte) {
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			c.out = append(c.out, b...)
			return
		}
		c.out = append(c.out, b[:i]...)
		b = b[i+1:]
		line := c.out
		c.out = c.out[:0]
		if len(line) < 4 || line[3] != ' ' {
			continue // not the last line of a reply
		}
		switch string(line[:3]) {
		case "220":
			if c.greeted {
				c.clear = false // STARTTLS accepted: the handshake follows
				return
			}
			c.greeted = true
		case "354":
			c.inData = true
		case "334":
			c.sasl++
		}
	}
}
