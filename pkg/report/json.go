package report

import (
	"encoding/json"
	"fmt"
	"io"
)

// jsonFormatter writes the Result as DESIGN.md's JSON document.
type jsonFormatter struct{}

func (jsonFormatter) Format(w io.Writer, r *Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("write json: %w", err)
	}
	return nil
}
