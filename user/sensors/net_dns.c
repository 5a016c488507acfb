// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The DNS question a query record carries: its name made safe text and its type, whatever bytes were sent. */
#include <stdio.h>

#include "sensors/net.h"

const char *ks_dns_type_name(int qtype)
{
	switch (qtype) {
	case 1:
		return "A";
	case 2:
		return "NS";
	case 5:
		return "CNAME";
	case 6:
		return "SOA";
	case 12:
		return "PTR";
	case 15:
		return "MX";
	case 16:
		return "TXT";
	case 28:
		return "AAAA";
	case 33:
		return "SRV";
	case 64:
		return "SVCB";
	case 65:
		return "HTTPS";
	case 255:
		return "ANY";
	}
	return NULL;
}

int ks_dns_question(const uint8_t *q, size_t len, char *name, size_t namelen, bool *truncated)
{
	size_t i = 0, o = 0;

	*truncated = false;
	if (!namelen)
		return -1;
	name[0] = '\0';
	while (i < len) {
		uint8_t l = q[i++], j;

		if (l == 0) {
			if (!o)
				snprintf(name, namelen, ".");
			if (i + 2 > len) {
				*truncated = true;
				return 0;
			}
			return q[i] << 8 | q[i + 1];
		}
		if (l & 0xc0) /* compression pointers have no place in a question */
			return -1;
		if (o && o + 1 < namelen)
			name[o++] = '.';
		for (j = 0; j < l; j++) {
			uint8_t ch;

			if (i >= len) {
				*truncated = true;
				name[o < namelen ? o : namelen - 1] = '\0';
				return 0;
			}
			ch = q[i++];
			if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
			    ch == '-' || ch == '_') {
				if (o + 1 < namelen)
					name[o++] = (char)ch;
			} else if (o + 5 < namelen) {
				o += (size_t)snprintf(name + o, namelen - o, "\\%03u", ch);
			}
		}
		name[o < namelen ? o : namelen - 1] = '\0';
	}
	*truncated = true;
	return 0;
}
