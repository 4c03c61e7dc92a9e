// Package secret owns the system secret: the file that is loaded (or generated on a localhost
// development instance), and the independent keys derived from it with HKDF for each purpose
// (sealing signing keys, hashing stored secrets, signing cookies). Nothing else reads the file.
package secret
