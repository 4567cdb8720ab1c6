// Command go-tlog checks custody's signed notes, checkpoints, proofs and tiles with Go's
// reference implementation, golang.org/x/mod/sumdb/note and golang.org/x/mod/sumdb/tlog,
// and makes Go-signed notes for custody to check.
//
// It is built in GOPATH mode against Debian's golang-golang-x-mod-dev (see README.md), and
// run by custody-log's integration test tests/it/go_interop.rs.
//
// Every command exits 0 when everything matches, 1 with a "FAIL: ..." line on stderr when a
// check fails, and 2 on a usage or I/O error. A file argument of "-" reads standard input.
//
// Proof files hold one base64 hash per line, as in C2SP tlog-witness request bodies.
package main

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const usage = `usage: go-tlog <command> <arguments>

  verify-note <vkey-file> <note-file>
      Open the signed note with the verifier key (note.Open) and print its text.
  verify-checkpoint <vkey-file> <checkpoint-file>
      Open the checkpoint note and parse its C2SP tlog-checkpoint body.
  verify-cosignature <log-vkey-file> <witness-vkey-file> <checkpoint-file>
      Open the checkpoint with the log key and a C2SP tlog-cosignature v1 witness key
      (type 0x04); both signatures must verify.
  check-inclusion <vkey-file> <checkpoint-file> <index> <leaf-file> <proof-file>
      tlog.CheckRecord(proof, size, root, index, tlog.RecordHash(leaf)).
  check-consistency <vkey-file> <checkpoint-file> <old-size> <old-root-base64> <proof-file>
      tlog.CheckTree(proof, size, root, old-size, old-root).
  check-tiles <vkey-file> <checkpoint-file> <tile-dir> <cases-file>
      Read C2SP tiles (height 8) from tile-dir through tlog.TileHashReader, check the
      tree hash, compute proofs from the tiles (tlog.ProveRecord, tlog.ProveTree), check
      them (tlog.CheckRecord, tlog.CheckTree) and compare them with custody's. Each line
      of the cases file is "inclusion <index> <leaf-file> <proof-file>" or
      "consistency <old-size> <old-root-base64> <proof-file>"; file paths are relative
      to the cases file.
  sign-note <key-name> <text-file> <out-dir>
      Generate a key (note.GenerateKey), sign the text (note.Sign) and write
      out-dir/note, out-dir/vkey and out-dir/skey.
`

// failure is a check that did not pass (exit status 1), as opposed to a usage or I/O
// error (exit status 2).
type failure struct{ msg string }

func (f failure) Error() string { return f.msg }

func fail(format string, args ...interface{}) error {
	return failure{fmt.Sprintf(format, args...)}
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	err := run(os.Args[1], os.Args[2:])
	var f failure
	switch {
	case err == nil:
		return
	case errors.As(err, &f):
		fmt.Fprintf(os.Stderr, "FAIL: %s\n", f.msg)
		os.Exit(1)
	default:
		fmt.Fprintf(os.Stderr, "error: %v\n", err)
		os.Exit(2)
	}
}

func run(command string, args []string) error {
	need := func(n int) error {
		if len(args) != n {
			return fmt.Errorf("%s takes %d arguments, got %d\n%s", command, n, len(args), usage)
		}
		return nil
	}
	switch command {
	case "verify-note":
		if err := need(2); err != nil {
			return err
		}
		return verifyNote(args[0], args[1])
	case "verify-checkpoint":
		if err := need(2); err != nil {
			return err
		}
		c, err := openCheckpoint(args[0], args[1])
		if err != nil {
			return err
		}
		fmt.Printf("ok %s %d %s\n", c.origin, c.size, c.root)
		return nil
	case "verify-cosignature":
		if err := need(3); err != nil {
			return err
		}
		return verifyCosignature(args[0], args[1], args[2])
	case "check-inclusion":
		if err := need(5); err != nil {
			return err
		}
		return checkInclusion(args[0], args[1], args[2], args[3], args[4])
	case "check-consistency":
		if err := need(5); err != nil {
			return err
		}
		return checkConsistency(args[0], args[1], args[2], args[3], args[4])
	case "check-tiles":
		if err := need(4); err != nil {
			return err
		}
		return checkTiles(args[0], args[1], args[2], args[3])
	case "sign-note":
		if err := need(3); err != nil {
			return err
		}
		return signNote(args[0], args[1], args[2])
	default:
		return fmt.Errorf("unknown command %q\n%s", command, usage)
	}
}

func readFile(path string) ([]byte, error) {
	if path == "-" {
		return io.ReadAll(os.Stdin)
	}
	return os.ReadFile(path)
}

// readLine reads a file holding one line of text, such as a vkey.
func readLine(path string) (string, error) {
	data, err := readFile(path)
	if err != nil {
		return "", err
	}
	return strings.TrimSuffix(string(data), "\n"), nil
}

// Verifier keys: type 0x01 is note's own; type 0x04 (C2SP tlog-cosignature v1) is
// implemented here, since x/mod 0.7 predates it.

const algCosignatureV1 = 0x04

type cosignatureV1Verifier struct {
	name string
	hash uint32
	key  ed25519.PublicKey
}

func (v *cosignatureV1Verifier) Name() string    { return v.name }
func (v *cosignatureV1Verifier) KeyHash() uint32 { return v.hash }

// Verify checks a timestamped_signature: a big-endian u64 timestamp, then an Ed25519
// signature over "cosignature/v1\ntime <timestamp>\n" and the checkpoint body.
func (v *cosignatureV1Verifier) Verify(msg, sig []byte) bool {
	if len(sig) != 8+ed25519.SignatureSize {
		return false
	}
	timestamp := binary.BigEndian.Uint64(sig[:8])
	if timestamp > math.MaxInt64 {
		return false
	}
	var signed bytes.Buffer
	fmt.Fprintf(&signed, "cosignature/v1\ntime %d\n", timestamp)
	signed.Write(msg)
	return ed25519.Verify(v.key, signed.Bytes(), sig[8:])
}

func newVerifier(vkey string) (note.Verifier, error) {
	parts := strings.SplitN(vkey, "+", 3)
	if len(parts) != 3 {
		return nil, fail("malformed verifier key %q", vkey)
	}
	material, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(material) == 0 {
		return nil, fail("malformed verifier key %q", vkey)
	}
	if material[0] != algCosignatureV1 {
		v, err := note.NewVerifier(vkey)
		if err != nil {
			return nil, fail("note.NewVerifier(%q): %v", vkey, err)
		}
		return v, nil
	}
	if len(material) != 1+ed25519.PublicKeySize {
		return nil, fail("cosignature key %q is not 33 bytes", vkey)
	}
	hash, err := strconv.ParseUint(parts[1], 16, 32)
	if err != nil || len(parts[1]) != 8 {
		return nil, fail("malformed key hash in %q", vkey)
	}
	h := sha256.New()
	h.Write([]byte(parts[0] + "\n"))
	h.Write(material)
	if want := binary.BigEndian.Uint32(h.Sum(nil)); uint32(hash) != want {
		return nil, fail("key hash of %q is %08x, want %08x", vkey, hash, want)
	}
	return &cosignatureV1Verifier{name: parts[0], hash: uint32(hash), key: material[1:]}, nil
}

func loadVerifier(path string) (note.Verifier, error) {
	vkey, err := readLine(path)
	if err != nil {
		return nil, err
	}
	return newVerifier(vkey)
}

func open(msg []byte, verifiers ...note.Verifier) (*note.Note, error) {
	n, err := note.Open(msg, note.VerifierList(verifiers...))
	if err != nil {
		return nil, fail("note.Open: %v", err)
	}
	return n, nil
}

func verifyNote(vkeyPath, notePath string) error {
	v, err := loadVerifier(vkeyPath)
	if err != nil {
		return err
	}
	msg, err := readFile(notePath)
	if err != nil {
		return err
	}
	n, err := open(msg, v)
	if err != nil {
		return err
	}
	fmt.Print(n.Text)
	return nil
}

// checkpoint is a C2SP tlog-checkpoint body. tlog.ParseTree expects the go.sum database's
// fixed first line, so it is parsed here.
type checkpoint struct {
	origin string
	size   int64
	root   tlog.Hash
}

func parseCheckpoint(text string) (checkpoint, error) {
	var c checkpoint
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if !strings.HasSuffix(text, "\n") || len(lines) < 3 {
		return c, fail("checkpoint body %q does not have three lines", text)
	}
	for i, line := range lines {
		if line == "" {
			return c, fail("checkpoint line %d is empty", i+1)
		}
	}
	c.origin = lines[0]
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != lines[1] {
		return c, fail("checkpoint size %q is not canonical decimal", lines[1])
	}
	c.size = size
	root, err := tlog.ParseHash(lines[2])
	if err != nil || base64.StdEncoding.EncodeToString(root[:]) != lines[2] {
		return c, fail("checkpoint root %q is not a base64 hash", lines[2])
	}
	c.root = root
	return c, nil
}

func openCheckpoint(vkeyPath, checkpointPath string) (checkpoint, error) {
	v, err := loadVerifier(vkeyPath)
	if err != nil {
		return checkpoint{}, err
	}
	msg, err := readFile(checkpointPath)
	if err != nil {
		return checkpoint{}, err
	}
	n, err := open(msg, v)
	if err != nil {
		return checkpoint{}, err
	}
	c, err := parseCheckpoint(n.Text)
	if err != nil {
		return checkpoint{}, err
	}
	if c.origin != v.Name() {
		return checkpoint{}, fail("checkpoint origin %q is not the key name %q", c.origin, v.Name())
	}
	return c, nil
}

func verifyCosignature(logVkeyPath, witnessVkeyPath, checkpointPath string) error {
	logV, err := loadVerifier(logVkeyPath)
	if err != nil {
		return err
	}
	witnessV, err := loadVerifier(witnessVkeyPath)
	if err != nil {
		return err
	}
	if _, ok := witnessV.(*cosignatureV1Verifier); !ok {
		return fail("witness key is not a cosignature/v1 (type 0x04) key")
	}
	msg, err := readFile(checkpointPath)
	if err != nil {
		return err
	}
	n, err := open(msg, logV, witnessV)
	if err != nil {
		return err
	}
	if _, err := parseCheckpoint(n.Text); err != nil {
		return err
	}
	verified := map[string]bool{}
	for _, sig := range n.Sigs {
		verified[fmt.Sprintf("%s+%08x", sig.Name, sig.Hash)] = true
		if sig.Name == witnessV.Name() && sig.Hash == witnessV.KeyHash() {
			raw, _ := base64.StdEncoding.DecodeString(sig.Base64)
			fmt.Printf("cosigned by %s at %d\n", sig.Name, binary.BigEndian.Uint64(raw[4:12]))
		}
	}
	for _, v := range []note.Verifier{logV, witnessV} {
		if !verified[fmt.Sprintf("%s+%08x", v.Name(), v.KeyHash())] {
			return fail("no verified signature by %s+%08x", v.Name(), v.KeyHash())
		}
	}
	return nil
}

func readProof(path string) ([]tlog.Hash, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	var proof []tlog.Hash
	scanner := bufio.NewScanner(bytes.NewReader(data))
	for scanner.Scan() {
		h, err := tlog.ParseHash(scanner.Text())
		if err != nil {
			return nil, fmt.Errorf("%s: %v", path, err)
		}
		proof = append(proof, h)
	}
	return proof, scanner.Err()
}

func parseSize(text string) (int64, error) {
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%q is not a size or index", text)
	}
	return n, nil
}

func checkInclusion(vkeyPath, checkpointPath, indexText, leafPath, proofPath string) error {
	c, err := openCheckpoint(vkeyPath, checkpointPath)
	if err != nil {
		return err
	}
	index, err := parseSize(indexText)
	if err != nil {
		return err
	}
	leaf, err := readFile(leafPath)
	if err != nil {
		return err
	}
	proof, err := readProof(proofPath)
	if err != nil {
		return err
	}
	if err := tlog.CheckRecord(proof, c.size, c.root, index, tlog.RecordHash(leaf)); err != nil {
		return fail("tlog.CheckRecord(index %d, size %d): %v", index, c.size, err)
	}
	return nil
}

func checkConsistency(vkeyPath, checkpointPath, oldSizeText, oldRootText, proofPath string) error {
	c, err := openCheckpoint(vkeyPath, checkpointPath)
	if err != nil {
		return err
	}
	oldSize, err := parseSize(oldSizeText)
	if err != nil {
		return err
	}
	oldRoot, err := tlog.ParseHash(oldRootText)
	if err != nil {
		return fmt.Errorf("old root: %v", err)
	}
	proof, err := readProof(proofPath)
	if err != nil {
		return err
	}
	if err := tlog.CheckTree(proof, c.size, c.root, oldSize, oldRoot); err != nil {
		return fail("tlog.CheckTree(%d -> %d): %v", oldSize, c.size, err)
	}
	return nil
}

// dirTiles reads C2SP tiles from a directory. C2SP tile paths are tlog's without the
// height element: tile/<L>/<N>[.p/<W>] rather than tile/8/<L>/<N>[.p/<W>].
type dirTiles struct{ dir string }

func (d dirTiles) Height() int { return 8 }

func c2spPath(t tlog.Tile) string {
	return "tile/" + strings.TrimPrefix(t.Path(), fmt.Sprintf("tile/%d/", t.H))
}

func (d dirTiles) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	data := make([][]byte, len(tiles))
	for i, t := range tiles {
		path := filepath.Join(d.dir, filepath.FromSlash(c2spPath(t)))
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		if len(b) != t.W*tlog.HashSize {
			return nil, fail("tile %s is %d bytes, want %d", c2spPath(t), len(b), t.W*tlog.HashSize)
		}
		data[i] = b
	}
	return data, nil
}

func (d dirTiles) SaveTiles([]tlog.Tile, [][]byte) {}

func sameProof(got, want []tlog.Hash) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

func checkTiles(vkeyPath, checkpointPath, tileDir, casesPath string) error {
	c, err := openCheckpoint(vkeyPath, checkpointPath)
	if err != nil {
		return err
	}
	reader := tlog.TileHashReader(tlog.Tree{N: c.size, Hash: c.root}, dirTiles{tileDir})
	root, err := tlog.TreeHash(c.size, reader)
	if err != nil {
		return fail("tlog.TreeHash from tiles: %v", err)
	}
	if root != c.root {
		return fail("tree hash from tiles is %v, the checkpoint says %v", root, c.root)
	}
	cases, err := readFile(casesPath)
	if err != nil {
		return err
	}
	base := filepath.Dir(casesPath)
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(cases)), "\n") {
		fields := strings.Fields(line)
		if len(fields) != 4 {
			return fmt.Errorf("malformed case %q", line)
		}
		n, err := parseSize(fields[1])
		if err != nil {
			return err
		}
		want, err := readProof(filepath.Join(base, fields[3]))
		if err != nil {
			return err
		}
		// tlog.TileHashReader does not authenticate every tile it reads (tiles read for
		// the requested hashes that are not needed for the tree hash can escape the
		// check against their parents), so each proof computed from the tiles is checked
		// against the signed root before it is compared, as Go's sumdb client does.
		var got []tlog.Hash
		switch fields[0] {
		case "inclusion":
			leaf, err := readFile(filepath.Join(base, fields[2]))
			if err != nil {
				return err
			}
			got, err = tlog.ProveRecord(c.size, n, reader)
			if err != nil {
				return fail("tlog.ProveRecord(%d, %d): %v", c.size, n, err)
			}
			if err := tlog.CheckRecord(got, c.size, c.root, n, tlog.RecordHash(leaf)); err != nil {
				return fail("tlog.CheckRecord on the proof of %d computed from the tiles: %v", n, err)
			}
		case "consistency":
			oldRoot, err := tlog.ParseHash(fields[2])
			if err != nil {
				return fmt.Errorf("old root in %q: %v", line, err)
			}
			got, err = tlog.ProveTree(c.size, n, reader)
			if err != nil {
				return fail("tlog.ProveTree(%d, %d): %v", c.size, n, err)
			}
			if err := tlog.CheckTree(got, c.size, c.root, n, oldRoot); err != nil {
				return fail("tlog.CheckTree on the proof from %d computed from the tiles: %v", n, err)
			}
		default:
			return fmt.Errorf("unknown case kind %q", fields[0])
		}
		if !sameProof(got, want) {
			return fail("%s %d: Go computed %v from the tiles, custody wrote %v", fields[0], n, got, want)
		}
		checked++
	}
	fmt.Printf("ok %d proofs match\n", checked)
	return nil
}

func signNote(name, textPath, outDir string) error {
	text, err := readFile(textPath)
	if err != nil {
		return err
	}
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		return err
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		return err
	}
	msg, err := note.Sign(&note.Note{Text: string(text)}, signer)
	if err != nil {
		return fail("note.Sign: %v", err)
	}
	for file, data := range map[string][]byte{
		"note": msg,
		"vkey": []byte(vkey + "\n"),
		"skey": []byte(skey + "\n"),
	} {
		if err := os.WriteFile(filepath.Join(outDir, file), data, 0o600); err != nil {
			return err
		}
	}
	return nil
}
