package httpx

import "strconv"

// CSVCell makes a text cell safe to open in a spreadsheet: one that begins with =, +, -, @, a tab
// or a carriage return (a formula to Excel, LibreOffice and Google Sheets) is prefixed with a
// quote, unless it is a plain number. Use it on every cell whose text a client or a third party
// chose.
func CSVCell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		if _, err := strconv.ParseFloat(s, 64); err == nil {
			return s
		}
		return "'" + s
	}
	return s
}
