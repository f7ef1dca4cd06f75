package main

import (
	"fmt"
	"net/http"
	"strings"
)

// basicAuth sets -u/--user USER[:PASSWORD] on req as Basic credentials, as
// curl does: a password on the command line is warned about; without one,
// it is asked for on the terminal, never echoed. The transport drops the
// header on a redirect to another scheme, host or port.
func (g *getFlags) basicAuth(e *env, req *http.Request) error {
	if g.user == "" {
		return nil
	}
	user, pw, hasPW := strings.Cut(g.user, ":")
	if hasPW && pw != "" {
		e.warn("the password given with -u is visible to other users of this machine (ps) and stays in your shell history; give -u " + user + " alone to be asked for it")
	}
	if !hasPW {
		got, ok, err := e.askPassword("Enter host password for user '" + user + "': ")
		if err != nil {
			return err
		}
		if !ok {
			return &exitError{code: exitUsage, err: fmt.Errorf("-u %s has no password, and stdin is not a terminal to ask for it", user),
				hints: []string{"run it on a terminal to be asked, or give -u " + user + ":PASSWORD (visible to other users)"}}
		}
		pw = got
	}
	if req.URL.Scheme == "http" {
		e.warn("-u sends the password in clear text over http://")
	}
	req.SetBasicAuth(user, pw)
	return nil
}
