package httptrust

import "fmt"

// The enums of the API (Reason, Action, PinState, EventKind) each have a
// fixed table of stable snake_case codes: JSON, metrics and alerts carry
// the codes, and the words around them may change.

// codeOf returns v's code in table, or what(N) for a value not in it.
func codeOf[T ~int](table map[T]string, v T, what string) string {
	if c, ok := table[v]; ok {
		return c
	}
	return fmt.Sprintf("%s(%d)", what, int(v))
}

// marshalCode implements MarshalText for an enum with a code table.
func marshalCode[T ~int](table map[T]string, v T, what string) ([]byte, error) {
	c, ok := table[v]
	if !ok {
		return nil, fmt.Errorf("httptrust: unknown %s %d", what, int(v))
	}
	return []byte(c), nil
}

// unmarshalCode implements UnmarshalText for an enum with a code table.
func unmarshalCode[T ~int](table map[T]string, b []byte, what string) (T, error) {
	for k, c := range table {
		if c == string(b) {
			return k, nil
		}
	}
	return 0, fmt.Errorf("httptrust: unknown %s code %q", what, b)
}
