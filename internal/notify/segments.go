package notify

import "strings"

// GSM 03.38 7-bit default alphabet, and its extension table whose
// characters take two septets (an escape and the character).
const (
	gsm7Basic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
		"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
	gsm7Ext = "^{}\\[~]|€\f"
)

// SMSSegments returns how many SMS segments text takes and whether it
// must be sent as UCS-2. Text entirely in the GSM 7-bit alphabet takes one
// segment up to 160 septets and 153 per segment beyond; any other
// character makes the whole message UCS-2, 70 UTF-16 units in one segment
// and 67 per segment beyond. Carriers bill per segment and Twilio refuses
// bodies over 1600 characters. The admin API calls it to show what a
// template costs; tests call it to keep the shipped ones short. Empty
// text takes 0 segments.
func SMSSegments(text string) (segments int, ucs2 bool) {
	septets, units := 0, 0
	for _, r := range text {
		switch {
		case strings.ContainsRune(gsm7Basic, r):
			septets++
		case strings.ContainsRune(gsm7Ext, r):
			septets += 2
		default:
			ucs2 = true
		}
		if r > 0xFFFF {
			units += 2
		} else {
			units++
		}
	}
	n, single, multi := septets, 160, 153
	if ucs2 {
		n, single, multi = units, 70, 67
	}
	switch {
	case n == 0:
		return 0, ucs2
	case n <= single:
		return 1, ucs2
	default:
		return (n + multi - 1) / multi, ucs2
	}
}
