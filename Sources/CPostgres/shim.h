/* libpq, PostgreSQL's client library (Debian: libpq-dev; its headers live in
   /usr/include/postgresql). */
#include <postgresql/libpq-fe.h>
