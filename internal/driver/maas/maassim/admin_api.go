package maassim

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Version, describe, account, SSH keys, users and configuration (maas_api.md §5.8).

// Version is the MAAS version version/ reports.
const Version = "3.5.4-16243-g.4e7ca3ca2"

var capabilities = []string{"networks-management", "static-ipaddresses", "ipv6-deployment-ubuntu",
	"devices-management", "storage-deployment-ubuntu", "network-deployment-ubuntu", "bridging-interface-ubuntu",
	"bridging-automatic-ubuntu", "authenticate-api"}

func getVersion(c *req) (any, *apiError) {
	return map[string]any{"capabilities": capabilities, "version": Version, "subversion": ""}, nil
}

func getDescribe(c *req) (any, *apiError) {
	return map[string]any{"doc": "MAAS API", "handlers": []any{}, "resources": []any{}}, nil
}

func listTokens(c *req) (any, *apiError) {
	out := []map[string]string{}
	for _, t := range c.s.st.tokens {
		out = append(out, map[string]string{"name": t.name, "token": t.consumer + ":" + t.key + ":" + t.secret})
	}
	return out, nil
}

func createToken(c *req) (any, *apiError) {
	t := &token{consumer: randomString(18), key: randomString(18), secret: randomString(32), name: c.get("name")}
	c.s.st.tokens = append(c.s.st.tokens, t)
	return map[string]string{"token_key": t.key, "token_secret": t.secret, "consumer_key": t.consumer, "name": t.name}, nil
}

func deleteToken(c *req) (any, *apiError) {
	k := c.get("token_key")
	if k == "" {
		return nil, missingParam("token_key")
	}
	st := c.s.st
	for i, t := range st.tokens {
		if t.key == k {
			st.tokens = append(st.tokens[:i], st.tokens[i+1:]...)
			return noContent{}, nil
		}
	}
	return nil, notFound("Token")
}

func updateTokenName(c *req) (any, *apiError) {
	k, name := c.get("token"), c.get("name")
	if k == "" {
		return nil, missingParam("token")
	}
	if name == "" {
		return nil, missingParam("name")
	}
	for _, t := range c.s.st.tokens {
		if t.key == k || t.consumer+":"+t.key+":"+t.secret == k {
			t.name = name
			return plainText{"Token name updated"}, nil
		}
	}
	return nil, notFound("Token")
}

type sshKey struct {
	id             int
	key, keysource string
}

type sshKeyJSON struct {
	ID          int     `json:"id"`
	Key         string  `json:"key"`
	KeySource   *string `json:"keysource"`
	ResourceURI string  `json:"resource_uri"`
}

func renderSSHKey(k *sshKey) *sshKeyJSON {
	return &sshKeyJSON{ID: k.id, Key: k.key, KeySource: nstr(k.keysource),
		ResourceURI: fmt.Sprintf("%saccount/prefs/sshkeys/%d/", Prefix, k.id)}
}

var sshKeyTypes = []string{"ssh-rsa", "ssh-dss", "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
	"ecdsa-sha2-nistp521", "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com"}

// validSSHKey checks an OpenSSH public key: a known type, a base64 blob that starts with the
// same type name, and an optional comment.
func validSSHKey(k string) bool {
	f := strings.Fields(k)
	if len(f) < 2 || !containsFold(sshKeyTypes, f[0]) {
		return false
	}
	blob, err := base64.StdEncoding.DecodeString(f[1])
	if err != nil || len(blob) < 4 {
		return false
	}
	n := int(blob[0])<<24 | int(blob[1])<<16 | int(blob[2])<<8 | int(blob[3])
	return n > 0 && 4+n <= len(blob) && string(blob[4:4+n]) == f[0]
}

func listSSHKeys(c *req) (any, *apiError) {
	out := []*sshKeyJSON{}
	for _, k := range c.s.st.sshKeys {
		out = append(out, renderSSHKey(k))
	}
	return out, nil
}

func createSSHKey(c *req) (any, *apiError) {
	key := strings.TrimSpace(c.get("key"))
	if key == "" {
		return nil, fieldError("key", "This field is required.")
	}
	if !validSSHKey(key) {
		return nil, fieldError("key", "Invalid SSH public key: %s", key)
	}
	st := c.s.st
	for _, k := range st.sshKeys {
		if k.key == key {
			return nil, fieldError("__all__", "This key has already been added for this user.")
		}
	}
	k := &sshKey{id: st.next("sshkey"), key: key}
	st.sshKeys = append(st.sshKeys, k)
	return created{renderSSHKey(k)}, nil
}

func importSSHKeys(c *req) (any, *apiError) {
	src := c.get("keysource")
	if src == "" {
		return nil, missingParam("keysource")
	}
	if !strings.HasPrefix(src, "lp:") && !strings.HasPrefix(src, "gh:") {
		return nil, fieldError("keysource", "Invalid keysource: %s. It should be lp:<id> or gh:<id>.", src)
	}
	return []*sshKeyJSON{}, nil
}

func (c *req) sshKey() (*sshKey, *apiError) {
	for _, k := range c.s.st.sshKeys {
		if strconv.Itoa(k.id) == c.seg[3] {
			return k, nil
		}
	}
	return nil, notFound("SSHKey")
}

func getSSHKey(c *req) (any, *apiError) {
	k, e := c.sshKey()
	if e != nil {
		return nil, e
	}
	return renderSSHKey(k), nil
}

func deleteSSHKey(c *req) (any, *apiError) {
	k, e := c.sshKey()
	if e != nil {
		return nil, e
	}
	st := c.s.st
	for i, x := range st.sshKeys {
		if x == k {
			st.sshKeys = append(st.sshKeys[:i], st.sshKeys[i+1:]...)
		}
	}
	return noContent{}, nil
}

type userJSON struct {
	Username    string `json:"username"`
	Email       string `json:"email"`
	IsLocal     bool   `json:"is_local"`
	IsSuperuser bool   `json:"is_superuser"`
	ResourceURI string `json:"resource_uri"`
}

func renderUser(u *user) *userJSON {
	return &userJSON{Username: u.username, Email: u.email, IsLocal: true, IsSuperuser: u.superuser,
		ResourceURI: Prefix + "users/" + u.username + "/"}
}

func listUsers(c *req) (any, *apiError) {
	out := []*userJSON{}
	for _, u := range c.s.st.users {
		out = append(out, renderUser(u))
	}
	return out, nil
}

func whoami(c *req) (any, *apiError) { return renderUser(c.s.st.users[0]), nil }

func createUser(c *req) (any, *apiError) {
	fe := fieldErrors{}
	for _, k := range []string{"username", "email", "password", "is_superuser"} {
		if c.get(k) == "" {
			fe.add(k, "This field is required.")
		}
	}
	if e := fe.err(); e != nil {
		return nil, e
	}
	st := c.s.st
	for _, u := range st.users {
		if u.username == c.get("username") {
			return nil, fieldError("username", "A user with that username already exists.")
		}
	}
	u := &user{username: c.get("username"), email: c.get("email"), superuser: c.formBool("is_superuser", false)}
	st.users = append(st.users, u)
	return renderUser(u), nil
}

func (c *req) user() (*user, *apiError) {
	for _, u := range c.s.st.users {
		if u.username == c.seg[1] {
			return u, nil
		}
	}
	return nil, notFound("User")
}

func getUser(c *req) (any, *apiError) {
	u, e := c.user()
	if e != nil {
		return nil, e
	}
	return renderUser(u), nil
}

func deleteUser(c *req) (any, *apiError) {
	u, e := c.user()
	if e != nil {
		return nil, e
	}
	st := c.s.st
	if u == st.users[0] {
		return nil, badRequest("You cannot delete your own user.")
	}
	for i, x := range st.users {
		if x == u {
			st.users = append(st.users[:i], st.users[i+1:]...)
		}
	}
	return noContent{}, nil
}

func (c *req) configName() (string, *apiError) {
	name := c.get("name")
	if name == "" {
		return "", missingParam("name")
	}
	if _, ok := c.s.st.config[name]; !ok {
		return "", fieldError("name", "%s is not a valid config setting (valid settings are: %s).", name,
			strings.Join(sortedKeys(c.s.st.config), ", "))
	}
	return name, nil
}

// getConfig answers the value JSON-encoded.
func getConfig(c *req) (any, *apiError) {
	name, e := c.configName()
	if e != nil {
		return nil, e
	}
	b, _ := json.Marshal(c.s.st.config[name])
	return rawBody{"application/json; charset=utf-8", b}, nil
}

// setConfig parses the value as the setting's type.
func setConfig(c *req) (any, *apiError) {
	name, e := c.configName()
	if e != nil {
		return nil, e
	}
	st := c.s.st
	v := c.get("value")
	switch old := st.config[name].(type) {
	case bool:
		st.config[name] = c.formBool("value", false)
	case int:
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			return nil, fieldError("value", "Enter a whole number.")
		}
		if name == "node_timeout" && n < 1 {
			return nil, fieldError("value", "Ensure this value is greater than or equal to 1.")
		}
		st.config[name] = n
	default:
		_ = old
		switch name {
		case "default_storage_layout":
			if !containsFold([]string{"flat", "lvm", "bcache", "vmfs6", "vmfs7", "blank", "custom"}, v) {
				return nil, fieldError("value", "Select a valid choice. %s is not one of the available choices.", v)
			}
		case "dnssec_validation":
			if !containsFold([]string{"auto", "yes", "no"}, v) {
				return nil, fieldError("value", "Select a valid choice. %s is not one of the available choices.", v)
			}
		}
		st.config[name] = v
	}
	return plainText{"OK"}, nil
}
