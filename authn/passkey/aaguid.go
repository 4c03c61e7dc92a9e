package passkey

import (
	"bytes"
	"encoding/hex"
	"strings"
)

// Provider names shown when the AAGUID is zero (most browsers send a zero AAGUID when no
// attestation is requested) or not in the table.
const (
	ProviderSynced      = "Passkey (synced)"
	ProviderDeviceBound = "Security key or device passkey"
)

// knownAAGUIDs names the passkey providers people are likely to use, so that the account page can
// say "iCloud Keychain" rather than a UUID. AAGUIDs from the community list at
// github.com/passkeydeveloper/passkey-authenticator-aaguids (aaguid.json and combined_aaguid.json,
// which includes FIDO MDS entries). Used only for labels, never for trust decisions: without
// attestation an AAGUID is whatever the authenticator claims.
var knownAAGUIDs = map[string]string{
	// Platform and browser passkey providers.
	"fbfc3007-154e-4ecc-8c0b-6e020557d7bd": "iCloud Keychain",
	"dd4ec289-e01d-41c9-bb89-70fa845d4bf2": "iCloud Keychain (Managed)",
	"ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4": "Google Password Manager",
	"adce0002-35bc-c60a-648b-0b25f1f05503": "Chrome on Mac",
	"b5397666-4885-aa6b-cebf-e52262a439a2": "Chromium Browser",
	"771b48fd-d3d4-4f74-9232-fc157ab0507a": "Edge on Mac",
	"08987058-cadc-4b81-b6e1-30de50dcbe96": "Windows Hello",
	"9ddd1817-af5a-4672-a2b9-3e3dd95000a9": "Windows Hello",
	"6028b017-b1d4-4c02-b4b3-afcdafc96bb2": "Windows Hello",
	"53414d53-554e-4700-0000-000000000000": "Samsung Pass",

	// Password managers.
	"bada5566-a7aa-401f-bd96-45619a55120d": "1Password",
	"d548826e-79b4-db40-a3d8-11116f7e8349": "Bitwarden",
	"531126d6-e717-415c-9320-3d9aa6981239": "Dashlane",
	"50726f74-6f6e-5061-7373-50726f746f6e": "Proton Pass",
	"fdb141b2-5d84-443e-8a35-4698c205a502": "KeePassXC",
	"b84e4048-15dc-4dd0-8640-f4f60813c8af": "NordPass",
	"0ea242b4-43c4-4a1b-8b17-dd6d0b6baec6": "Keeper",
	"f3809540-7f14-49c1-a8b3-8f813b225541": "Enpass",
	"b78a0a55-6ef8-d246-a042-ba0f6d55050c": "LastPass",

	// Security keys: YubiKey 5 series.
	"ee882879-721c-4913-9775-3dfcce97072a": "YubiKey 5 Series",
	"19083c3d-8383-4b18-bc03-8f1c9ab2fd1b": "YubiKey 5 Series",
	"cb69481e-8ff7-4039-93ec-0a2729a154a8": "YubiKey 5 Series",
	"20ac7a17-c814-4833-93fe-539f0d5e3389": "YubiKey 5 Series",
	"fa2b99dc-9e39-4257-8f92-4a30d23c4118": "YubiKey 5 Series with NFC",
	"a25342c0-3cdc-4414-8e46-f4807fca511c": "YubiKey 5 Series with NFC",
	"2fc0579f-8113-47ea-b116-bb5a8db9202a": "YubiKey 5 Series with NFC",
	"1ac71f64-468d-4fe0-bef1-0e5f2f551f18": "YubiKey 5 Series with NFC",
	"c5ef55ff-ad9a-4b9f-b580-adebafe026d0": "YubiKey 5 Series with Lightning",
	"a02167b9-ae71-4ac7-9a07-06432ebb6f1c": "YubiKey 5 Series with Lightning",
	"b90e7dc1-316e-4fee-a25a-56a666a670fe": "YubiKey 5 Series with Lightning",
	"73bb0cd4-e502-49b8-9c6f-b59445bf720b": "YubiKey 5 FIPS Series",
	"c1f9a0bc-1dd2-404a-b27f-8e29047a43fd": "YubiKey 5 FIPS Series with NFC",
	"85203421-48f9-4355-9bc8-8a53846e5083": "YubiKey 5 FIPS Series with Lightning",
	"d8522d9f-575b-4866-88a9-ba99fa02f35b": "YubiKey Bio Series",
	"dd86a2da-86a0-4cbe-b462-4bd31f57bc6f": "YubiKey Bio Series",
	"b92c3f9a-c014-4056-887f-140a2501163b": "Security Key by Yubico",
	"f8a011f3-8c0a-4d15-8006-17111f9edc7d": "Security Key by Yubico",
	"149a2021-8ef6-4133-96b8-81f8d5b7f1f5": "Security Key by Yubico with NFC",
	"6d44ba9b-f6ec-2e49-b930-0c8fe920cb73": "Security Key by Yubico with NFC",
	"e77e3c64-05e3-428b-8824-0cbeb04b829d": "Security Key NFC by Yubico",
	"a4e9fc6d-4cbe-4758-b8ba-37598bb5bbaa": "Security Key NFC by Yubico",

	// Security keys: Feitian.
	"12ded745-4bed-47d4-abaa-e713f51d6393": "Feitian AllinOne",
	"77010bd7-212a-4fc9-b236-d2ca5e9d4084": "Feitian BioPass",
	"b6ede29c-3772-412c-8a78-539c1f4c62d2": "Feitian BioPass Plus",
	"4c0cf95d-2f40-43b5-ba42-4c83a11c04ba": "Feitian BioPass Pro",
	"833b721a-ff5f-4d00-bb2e-bdda3ec01e29": "Feitian ePass FIDO2",
	"ee041bce-25e5-4cdb-8f86-897fd6418464": "Feitian ePass FIDO2-NFC",
	"260e3021-482d-442d-838c-7edfbe153b7e": "Feitian ePass FIDO2-NFC Plus",
	"234cd403-35a2-4cc2-8015-77ea280c77f5": "Feitian ePass FIDO2-NFC",
	"2c0df832-92de-4be1-8412-88a8f074df4a": "Feitian FIDO Smart Card",
	"3e22415d-7fdf-4ea4-8a0c-dd60c4249b9d": "Feitian iePass",

	// Security keys: SoloKeys and others.
	"8876631b-d4a0-427f-5773-0ec71c9e0279": "SoloKeys Solo",
	"8976631b-d4a0-427f-5773-0ec71c9e0279": "SoloKeys Solo Tap",
	"9876631b-d4a0-427f-5773-0ec71c9e0279": "SoloKeys Somu",
	"42b4fb4a-2866-43b2-9bf7-6c6669c2e5d3": "Google Titan Security Key",
	"2cd2f727-f6ca-44da-8f48-5c2e5da000a2": "Nitrokey 3",
}

// formatAAGUID returns the 8-4-4-4-12 form of a 16-byte AAGUID, and "" for the all-zero AAGUID
// (an authenticator that does not say what it is) or anything that is not 16 bytes.
func formatAAGUID(b []byte) string {
	if len(b) != 16 || bytes.Equal(b, make([]byte, 16)) {
		return ""
	}
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// ProviderName names the passkey provider for an AAGUID (8-4-4-4-12, any case). An unknown or
// all-zero AAGUID falls back to a description from the backup-eligible flag.
func ProviderName(aaguid string, backupEligible bool) string {
	if name, ok := knownAAGUIDs[strings.ToLower(aaguid)]; ok {
		return name
	}
	if backupEligible {
		return ProviderSynced
	}
	return ProviderDeviceBound
}
