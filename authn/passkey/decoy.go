package passkey

import (
	"encoding/binary"
	"encoding/hex"

	"github.com/go-webauthn/webauthn/protocol"
)

// decoyProfile is one kind of passkey a decoy imitates: its credential id length and transports.
type decoyProfile struct {
	idLen      int
	transports []protocol.AuthenticatorTransport
}

// decoyProfiles imitate the passkeys real accounts hold, so that a decoy cannot be told from a
// real allowCredentials list by its shape: platform and password-manager passkeys (ids of 16 to
// 32 bytes, transports "hybrid" and "internal") and security keys (longer ids, "nfc" and
// "usb"). Ids of other lengths exist; a username whose real passkey has one is told apart only
// by someone who already knows that passkey's id length.
var decoyProfiles = []decoyProfile{
	{16, []protocol.AuthenticatorTransport{protocol.Hybrid, protocol.Internal}},
	{20, []protocol.AuthenticatorTransport{protocol.Hybrid, protocol.Internal}},
	{32, []protocol.AuthenticatorTransport{protocol.Hybrid, protocol.Internal}},
	{32, []protocol.AuthenticatorTransport{protocol.Internal}},
	{48, []protocol.AuthenticatorTransport{protocol.NFC, protocol.USB}},
	{64, []protocol.AuthenticatorTransport{protocol.NFC, protocol.USB}},
}

// decoy returns the allowCredentials that an unknown username, a disabled user or a user without
// passkeys gets instead of an error, and a user id that matches no user. Both derive from the
// keyed hash of the organisation and username, so repeated requests get the same answer, as they
// would for a real account, and nobody without the system secret can tell them from real ids.
// Most decoys list one passkey and some two, as real accounts do.
func (s *Service) decoy(orgID, username string) (descriptors []protocol.CredentialDescriptor, userID string) {
	seed := s.hasher.Sum([]byte("passkey-decoy\x00" + orgID + "\x00" + username))
	count := 1
	if seed[0]%4 == 0 {
		count = 2
	}
	for i := range count {
		p := decoyProfiles[int(binary.BigEndian.Uint16(seed[1+2*i:]))%len(decoyProfiles)]
		id := make([]byte, 0, p.idLen)
		for block := byte(0); len(id) < p.idLen; block++ {
			id = append(id, s.hasher.Sum(append([]byte("passkey-decoy-id\x00"), append(seed, byte(i), block)...))...)
		}
		descriptors = append(descriptors, protocol.CredentialDescriptor{
			Type:         protocol.PublicKeyCredentialType,
			CredentialID: id[:p.idLen],
			Transport:    p.transports,
		})
	}
	return descriptors, "decoy:" + hex.EncodeToString(seed[8:24])
}
