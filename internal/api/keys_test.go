package api

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/floodgate/floodgate"
)

// TestDecodeRefusesKeysTwiceAndInAnotherCase: encoding/json takes the last
// of two equal keys and matches keys in any case; the API takes neither, at
// any depth, and still takes every field by its own name, promoted fields
// and types that read themselves included.
func TestDecodeRefusesKeysTwiceAndInAnotherCase(t *testing.T) {
	type Base struct {
		ID string `json:"id"`
	}
	type item struct {
		Code string `json:"code"`
	}
	type body struct {
		Base
		Stock  int64             `json:"stock"`
		Items  []item            `json:"items"`
		Labels map[string]string `json:"labels"`
		At     *time.Time        `json:"at"`
		Any    any               `json:"any"`
		Plain  int
		Skip   int `json:"-"`
	}
	good := `{"id":"a","stock":5,"items":[{"code":"x"},{"code":"y"}],"labels":{"a":"1","A":"2"},"at":"2026-01-01T00:00:00Z","any":{"k":[1,{"j":2}]},"Plain":3}`
	var v body
	if err := DecodeBytes([]byte(good), &v); err != nil || v.ID != "a" || v.Stock != 5 || len(v.Items) != 2 || v.Plain != 3 || len(v.Labels) != 2 {
		t.Fatalf("a good body: %+v %v", v, err)
	}
	// Many keys: each once is fine, a late one twice is found.
	var many strings.Builder
	many.WriteString(`{"labels":{`)
	for i := range 50000 {
		fmt.Fprintf(&many, `"k%d":"v",`, i)
	}
	var big body
	if err := DecodeBytes([]byte(many.String()+`"last":"v"}}`), &big); err != nil || len(big.Labels) != 50001 {
		t.Fatalf("50,001 distinct keys: %d labels, %v", len(big.Labels), err)
	}
	manyTwice := many.String() + `"k17":"v"}}`
	for in, want := range map[string]string{
		manyTwice:                             `field "k17" appears twice`,
		`{"id":"a","stock":5,"stock":7}`:      `field "stock" appears twice`,
		`{"id":"a","ID":"b"}`:                 `unknown field "ID"`,
		`{"Stock":5}`:                         `unknown field "Stock"`,
		`{"Id":"a"}`:                          `unknown field "Id"`,
		`{"plain":3}`:                         `unknown field "plain"`,
		`{"items":[{"code":"x","Code":"y"}]}`: `unknown field "Code"`,
		`{"items":[{"code":"x","code":"y"}]}`: `field "code" appears twice`,
		`{"labels":{"a":"1","a":"2"}}`:        `field "a" appears twice`,
		`{"any":{"k":1,"k":2}}`:               `field "k" appears twice`,
		`{"any":[{"k":1}],"any":[{"k":1}]}`:   `field "any" appears twice`,
	} {
		var v body
		err := DecodeBytes([]byte(in), &v)
		if floodgate.ErrorCode(err) != floodgate.EInvalid || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want invalid_argument saying %q", in, err, want)
		}
	}
}
