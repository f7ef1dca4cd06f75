package probe

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
)

// SMTP and IMAP: line protocols.

// lineConn reads CRLF-terminated lines from a plain-text protocol.
type lineConn struct {
	c net.Conn
	r *bufio.Reader
}

func newLineConn(c net.Conn) *lineConn {
	return &lineConn{c: c, r: bufio.NewReaderSize(io.LimitReader(c, maxReply), maxLine)}
}

// line reads one line without its line ending.
func (l *lineConn) line() (string, error) {
	b, err := l.r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		return "", fmt.Errorf("%w: a line longer than %d bytes", ErrNotProtocol, maxLine)
	}
	if err == io.EOF && len(b) > 0 {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

func (l *lineConn) send(s string) error {
	_, err := io.WriteString(l.c, s+"\r\n")
	return err
}

// done checks that nothing follows the server's last answer.
func (l *lineConn) done(step string) error {
	if l.r.Buffered() > 0 {
		return stepErr(step, "", ErrInjected)
	}
	return nil
}

// smtpReply reads a (possibly multi-line) SMTP reply: its code and the
// text of each line.
func (l *lineConn) smtpReply() (int, []string, error) {
	var texts []string
	for range maxLines {
		s, err := l.line()
		if err != nil {
			return 0, texts, err
		}
		if len(s) < 3 || (len(s) > 3 && s[3] != ' ' && s[3] != '-') {
			return 0, append(texts, s), ErrNotProtocol
		}
		code, err := strconv.Atoi(s[:3])
		if err != nil {
			return 0, append(texts, s), ErrNotProtocol
		}
		texts = append(texts, strings.TrimSpace(s[min(4, len(s)):]))
		if len(s) == 3 || s[3] == ' ' {
			return code, texts, nil
		}
	}
	return 0, texts, fmt.Errorf("%w: a reply of more than %d lines", ErrNotProtocol, maxLines)
}

// smtpStartTLS: the greeting (220), EHLO (250, STARTTLS among the
// extensions), STARTTLS (220).
func smtpStartTLS(c net.Conn) error {
	l := newLineConn(c)
	code, texts, err := l.smtpReply()
	if err != nil {
		return stepErr("greeting", first(texts), err)
	}
	if code != 220 {
		return stepErr("greeting", fmt.Sprintf("%d %s", code, first(texts)), ErrStartTLSRefused)
	}
	if err := l.send("EHLO localhost"); err != nil {
		return stepErr("EHLO", "", err)
	}
	code, texts, err = l.smtpReply()
	if err != nil {
		return stepErr("EHLO", first(texts), err)
	}
	if code != 250 {
		return stepErr("EHLO", fmt.Sprintf("%d %s", code, first(texts)), ErrNoStartTLS)
	}
	offered := false
	for _, t := range texts[1:] {
		word, _, _ := strings.Cut(t, " ")
		offered = offered || strings.EqualFold(word, "STARTTLS")
	}
	if !offered {
		return stepErr("EHLO", "250 "+strings.Join(texts, ", "), ErrNoStartTLS)
	}
	if err := l.send("STARTTLS"); err != nil {
		return stepErr("STARTTLS", "", err)
	}
	code, texts, err = l.smtpReply()
	if err != nil {
		return stepErr("STARTTLS", first(texts), err)
	}
	if code != 220 {
		return stepErr("STARTTLS", fmt.Sprintf("%d %s", code, first(texts)), ErrStartTLSRefused)
	}
	return l.done("STARTTLS")
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// imapStartTLS: the greeting (* OK), CAPABILITY (STARTTLS among them),
// STARTTLS (OK).
func imapStartTLS(c net.Conn) error {
	l := newLineConn(c)
	greeting, err := l.line()
	if err != nil {
		return stepErr("greeting", "", err)
	}
	switch word := strings.ToUpper(field(greeting, 1)); {
	case field(greeting, 0) != "*":
		return stepErr("greeting", greeting, ErrNotProtocol)
	case word == "PREAUTH":
		return stepErr("greeting", greeting, fmt.Errorf("%w: the connection is authenticated already, and STARTTLS is allowed only before", ErrStartTLSRefused))
	case word != "OK":
		return stepErr("greeting", greeting, ErrStartTLSRefused)
	}
	caps, tagged, err := l.imapCommand("A1", "CAPABILITY")
	if err != nil {
		return stepErr("CAPABILITY", tagged, err)
	}
	offered := false
	for _, line := range caps {
		if !strings.EqualFold(field(line, 1), "CAPABILITY") {
			continue
		}
		for _, c := range strings.Fields(line)[2:] {
			offered = offered || strings.EqualFold(c, "STARTTLS")
		}
	}
	if !offered {
		return stepErr("CAPABILITY", strings.Join(caps, " "), ErrNoStartTLS)
	}
	if _, tagged, err := l.imapCommand("A2", "STARTTLS"); err != nil {
		return stepErr("STARTTLS", tagged, err)
	}
	return l.done("STARTTLS")
}

// imapCommand sends "tag cmd" and reads up to its tagged answer, which
// must be OK. It returns the untagged lines and the tagged one.
func (l *lineConn) imapCommand(tag, cmd string) ([]string, string, error) {
	if err := l.send(tag + " " + cmd); err != nil {
		return nil, "", err
	}
	var untagged []string
	for range maxLines {
		s, err := l.line()
		if err != nil {
			return untagged, "", err
		}
		switch field(s, 0) {
		case "*":
			untagged = append(untagged, s)
			continue
		case tag:
			if !strings.EqualFold(field(s, 1), "OK") {
				return untagged, s, ErrStartTLSRefused
			}
			return untagged, s, nil
		}
		return untagged, s, ErrNotProtocol
	}
	return untagged, "", fmt.Errorf("%w: more than %d lines before the answer", ErrNotProtocol, maxLines)
}

// field returns the i-th space-separated word of s, or "".
func field(s string, i int) string {
	f := strings.Fields(s)
	if i < len(f) {
		return f[i]
	}
	return ""
}
