/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Time unit constants, so a nanosecond count never appears as a bare number. */
#ifndef KANSOKU_LIB_TIME_H
#define KANSOKU_LIB_TIME_H

#define NSEC_PER_USEC 1000ull
#define NSEC_PER_MSEC 1000000ull
#define NSEC_PER_SEC 1000000000ull
#define USEC_PER_SEC 1000000ull
#define MSEC_PER_SEC 1000ull

#endif
