package gateway_test

import (
	"encoding/json"
	"errors"
	"io"

	"golang.org/x/oauth2"
)

func asRetrieve(err error, re **oauth2.RetrieveError) bool { return errors.As(err, re) }

func jsonDecode(r io.Reader, v any) error { return json.NewDecoder(r).Decode(v) }
