package server

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
)

// Buffer sizes of a hijacked events connection. net/http hands a hijacked
// connection over with its 4 KiB read and 4 KiB write buffers, which
// coder/websocket keeps for the connection's lifetime: 8 KiB per idle
// stream, a fifth of its memory before this change. What the stream needs
// is far less:
//
//   - it reads only control frames from the client (pong, ping, close: at
//     most 131 bytes each; data frames are refused), so a small read
//     buffer costs nothing but an extra read system call for a rare long
//     frame;
//   - it writes frames of a few hundred bytes (an event frame is ids and
//     kinds, about 450-600 bytes). A frame longer than the write buffer is
//     still written correctly, in two system calls instead of one.
const (
	streamReadBuffer  = 256
	streamWriteBuffer = 1024
)

// smallBuffers wraps the ResponseWriter of a WebSocket upgrade so that the
// hijacked connection gets buffers of streamReadBuffer and
// streamWriteBuffer bytes instead of net/http's (coder/websocket uses
// whatever bufio.ReadWriter Hijack returns). net/http's own buffers become
// garbage once the handler returns. It also keeps the hijacked connection,
// for the stream's write deadlines (see stream.writeFrame).
type smallBuffers struct {
	http.ResponseWriter
	conn net.Conn // set by Hijack
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *smallBuffers) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Hijack hijacks the underlying connection and returns it with small
// buffers. Bytes net/http had already read past the request (a client may
// not send frames before the handshake answer, but nothing is lost if it
// does) are moved into the new read buffer; bytes waiting in net/http's
// write buffer (none, after the 101 answer was flushed) are flushed.
func (w *smallBuffers) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	if brw.Writer.Buffered() > 0 {
		if err := brw.Writer.Flush(); err != nil {
			conn.Close()
			return nil, nil, fmt.Errorf("flushing the handshake: %w", err)
		}
	}
	n := brw.Reader.Buffered()
	br := bufio.NewReaderSize(conn, max(streamReadBuffer, n))
	if n > 0 {
		// Peek from a reader that yields the early bytes first: they land
		// in br's buffer, where the WebSocket library looks for them.
		early, _ := brw.Reader.Peek(n)
		br.Reset(io.MultiReader(bytes.NewReader(early), conn))
		if _, err := br.Peek(n); err != nil {
			conn.Close()
			return nil, nil, fmt.Errorf("moving early bytes: %w", err)
		}
	}
	w.conn = conn
	return conn, bufio.NewReadWriter(br, bufio.NewWriterSize(conn, streamWriteBuffer)), nil
}
