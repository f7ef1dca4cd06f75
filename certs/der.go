package certs

import "fmt"

// maxDepth bounds how deeply nested ASN.1 elements may be. Real certificates,
// keys, PKCS#7 and PKCS#12 files stay well below it.
const maxDepth = 40

// element is one ASN.1 TLV as read by readElement.
type element struct {
	off        int64  // offset of the identifier octet in the outermost input
	id         byte   // first identifier octet (class, constructed bit, low tag)
	hdr        int    // header length (identifier and length octets)
	want       int64  // content length the header declares (-1: indefinite)
	body       []byte // content octets, clipped to the input when short
	full       []byte // header and content (and end-of-contents), clipped
	short      bool   // the input ended before the declared content did
	indefinite bool   // BER indefinite length
}

// constructed reports whether the element holds further elements.
func (e element) constructed() bool { return e.id&0x20 != 0 }

// derError is a structural problem at a known offset.
type derError struct {
	off int64
	msg string
}

func (e *derError) Error() string { return fmt.Sprintf("byte %d: %s", e.off, e.msg) }

// readElement reads one element from data, which starts at offset base in
// the outermost input. A declared length beyond the input is not an error:
// the element comes back short, with whatever content there is. ber allows
// indefinite lengths (ended by two zero octets), depth bounds their nesting.
func readElement(data []byte, base int64, ber bool, depth int) (el element, rest []byte, err *derError) {
	el.off = base
	if len(data) == 0 {
		return el, nil, &derError{base, "no data where an ASN.1 element should start"}
	}
	el.id = data[0]
	i := 1
	if el.id&0x1f == 0x1f { // high tag number form
		for i < len(data) && i < 6 && data[i]&0x80 != 0 {
			i++
		}
		if i >= len(data) || i >= 6 {
			return el, nil, &derError{base, "malformed ASN.1 tag"}
		}
		i++
	}
	if i >= len(data) {
		el.short, el.hdr, el.full = true, len(data), data
		return el, nil, nil
	}
	n, hdr, lerr := readLength(data, i)
	if lerr != "" {
		return el, nil, &derError{base, lerr}
	}
	el.hdr = hdr
	if n < 0 {
		return readIndefinite(el, data, base, ber, depth)
	}
	el.want = n
	if n > int64(len(data)-hdr) {
		el.short, el.body, el.full = true, data[hdr:], data
		return el, nil, nil
	}
	end := hdr + int(n)
	el.body, el.full = data[hdr:end], data[:end]
	return el, data[end:], nil
}

// readLength decodes the length octets at data[i:]. It returns -1 for the
// indefinite form, the header length, and a message when malformed.
func readLength(data []byte, i int) (n int64, hdr int, problem string) {
	b := data[i]
	i++
	switch {
	case b < 0x80:
		return int64(b), i, ""
	case b == 0x80:
		return -1, i, ""
	case b > 0x84:
		return 0, 0, "ASN.1 length does not fit in 4 bytes"
	}
	k := int(b & 0x7f)
	if i+k > len(data) {
		return 0, 0, "input ends inside an ASN.1 length"
	}
	for _, c := range data[i : i+k] {
		n = n<<8 | int64(c)
	}
	return n, i + k, ""
}

// readIndefinite finishes an element with an indefinite length by reading
// its children up to the end-of-contents octets.
func readIndefinite(el element, data []byte, base int64, ber bool, depth int) (element, []byte, *derError) {
	el.want, el.indefinite = -1, true
	if !ber {
		return el, nil, &derError{base, "indefinite length (BER), DER expected"}
	}
	if !el.constructed() {
		return el, nil, &derError{base, "indefinite length on a primitive element"}
	}
	if depth >= maxDepth {
		return el, nil, &derError{base, "ASN.1 nested too deeply"}
	}
	rest := data[el.hdr:]
	for {
		if len(rest) < 2 {
			el.short, el.body, el.full = true, data[el.hdr:], data
			return el, nil, nil
		}
		if rest[0] == 0 && rest[1] == 0 {
			end := len(data) - len(rest)
			el.body, el.full = data[el.hdr:end], data[:end+2]
			return el, rest[2:], nil
		}
		child, r, err := readElement(rest, base+int64(len(data)-len(rest)), ber, depth+1)
		if err != nil {
			return el, nil, err
		}
		if child.short {
			el.short, el.body, el.full = true, data[el.hdr:], data
			return el, nil, nil
		}
		rest = r
	}
}

// children reads up to max elements from a constructed element's content,
// leniently: it stops at the first malformed or short one (which is
// included when short), so that a truncated input can still be recognised.
func children(el element, max int) []element {
	var out []element
	rest := el.body
	base := el.off + int64(el.hdr)
	for len(rest) > 0 && len(out) < max {
		if el.indefinite && len(rest) >= 2 && rest[0] == 0 && rest[1] == 0 {
			break
		}
		c, r, err := readElement(rest, base+int64(len(el.body)-len(rest)), true, 0)
		if err != nil {
			break
		}
		out = append(out, c)
		if c.short {
			break
		}
		rest = r
	}
	return out
}

// structure summarises checkStructure's walk.
type structure struct {
	ber bool // an indefinite length was seen
}

// checkStructure walks every element in data, recursing into constructed
// ones, and reports the first that is malformed or cut short. base is the
// offset of data in the outermost input.
func checkStructure(data []byte, base int64, ber bool) (structure, *derError) {
	var s structure
	err := walk(data, base, ber, 0, &s)
	return s, err
}

func walk(data []byte, base int64, ber bool, depth int, s *structure) *derError {
	if depth > maxDepth {
		return &derError{base, "ASN.1 nested too deeply"}
	}
	rest := data
	for len(rest) > 0 {
		off := base + int64(len(data)-len(rest))
		el, r, err := readElement(rest, off, ber, depth)
		if err != nil {
			return err
		}
		if el.short {
			return &derError{off, shortMessage(el)}
		}
		if el.indefinite {
			s.ber = true
		}
		if el.constructed() {
			body := el.body
			if err := walk(body, off+int64(el.hdr), ber, depth+1, s); err != nil {
				return err
			}
		}
		rest = r
	}
	return nil
}

// shortMessage says how an element was cut short.
func shortMessage(el element) string {
	have := len(el.full) - el.hdr
	if have < 0 {
		have = 0
	}
	if el.want < 0 {
		return fmt.Sprintf("an element of indefinite length has no end-of-contents marker; the data ends %d bytes in", have)
	}
	if el.hdr == 0 || len(el.full) < el.hdr || el.want == 0 {
		return "the data ends inside an ASN.1 header"
	}
	return fmt.Sprintf("an ASN.1 element declares %d bytes of content but only %d follow", el.want, have)
}

// intValue returns the value of a small non-negative INTEGER element.
func intValue(el element) (int64, bool) {
	if el.id != 0x02 || len(el.body) == 0 || len(el.body) > 8 || el.body[0]&0x80 != 0 {
		return 0, false
	}
	var n int64
	for _, b := range el.body {
		n = n<<8 | int64(b)
	}
	return n, n >= 0
}
