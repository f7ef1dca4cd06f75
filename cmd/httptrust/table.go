package main

import (
	"io"
	"strings"
)

// table is rows of cells printed in aligned columns, two spaces apart, as
// text/tabwriter would, but so that a terminal wraps no row inside text
// from the network: every cell is escaped (termSafe), and the last one of
// a row, the only one that may be long, is cut to what is left of
// viewWidth (fit; on a row of its own, after contMark, when less than
// minCell columns are left) or, when wrap, laid out in rows with wrapLine.
type table struct {
	indent string
	header []string // the program's own
	rows   [][]string
	wrap   bool
}

// minCell is the least room a cut last cell is given on its row.
const minCell = 24

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

// print writes the table to w.
func (t *table) print(w io.Writer) {
	rows := make([][]string, 0, len(t.rows)+1)
	if t.header != nil {
		rows = append(rows, t.header)
	}
	for _, r := range t.rows {
		safe := make([]string, len(r))
		for i, c := range r {
			if i < len(r)-1 {
				c = termSafe(c)
			}
			safe[i] = c
		}
		rows = append(rows, safe)
	}
	var widths []int
	for _, r := range rows {
		for i, c := range r[:len(r)-1] {
			if i == len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], columns(c))
		}
	}
	for n, r := range rows {
		var b strings.Builder
		b.WriteString(t.indent)
		for i, c := range r[:len(r)-1] {
			b.WriteString(c + strings.Repeat(" ", widths[i]-columns(c)+2))
		}
		lead, last := b.String(), r[len(r)-1]
		switch {
		case n == 0 && t.header != nil:
			printf(w, "%s%s\n", ours(lead), ours(last))
		case t.wrap:
			printf(w, "%s", wrapLine(ours(lead), last))
		case columns(lead) > viewWidth-minCell:
			// Too little room is left on the row: the cell goes on a
			// row of its own that continues it.
			printf(w, "%s\n%s%s\n", ours(strings.TrimRight(lead, " ")), ours(contMark), fit(last, viewWidth-columns(contMark)))
		default:
			printf(w, "%s%s\n", ours(lead), fit(last, viewWidth-columns(lead)))
		}
	}
}
