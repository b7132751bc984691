#include "util/address.hpp"

#include <doctest/doctest.h>

using namespace mail::util;

TEST_CASE("addresses compare with the local part exact and the domain in any case (issue 10, defect 3)") {
  CHECK(same_address("usr1@mail.sustech.edu.cn", "usr1@MAIL.Sustech.EDU.CN"));
  CHECK_FALSE(same_address("usr1@mail.sustech.edu.cn", "Usr1@mail.sustech.edu.cn"));
  CHECK_FALSE(same_address("usr1@mail.sustech.edu.cn", "USR1@mail.sustech.edu.cn"));
  CHECK_FALSE(same_address("usr1@mail.sustech.edu.cn", "usr1@mail.sustech.edu"));
  CHECK_FALSE(same_address("usr1@mail.sustech.edu.cn", "usr2@mail.sustech.edu.cn"));
  // A trailing dot names the same domain (only configured names can have one: the parser refuses it).
  CHECK(same_address("usr@gmail.com.", "usr@GMAIL.com"));
  CHECK(canonical_domain("Gmail.COM.") == "gmail.com");
  CHECK(canonical_domain("[IPv6:::1]") == "[ipv6:::1]");
  // A quoted local part is the string it quotes.
  CHECK(same_address("\"usr1\"@mail.sustech.edu.cn", "usr1@mail.sustech.edu.cn"));
  CHECK(same_address("\"u\\s\\r1\"@d.org", "usr1@d.org"));
  CHECK_FALSE(same_address("\"Usr1\"@d.org", "usr1@d.org"));
  CHECK(canonical_address("\"a b\"@D.org") == "\"a b\"@d.org");
  CHECK(canonical_address("\"a\\ b\"@d.org") == "\"a b\"@d.org");
  CHECK(canonical_address("\"a\\\"b\"@d.org") == "\"a\\\"b\"@d.org");
  CHECK(canonical_address("\"usr@gmail.com\"@d.org") == "\"usr@gmail.com\"@d.org");  // not usr@gmail.com
  CHECK_FALSE(same_address("\"usr@gmail.com\"@d.org", "usr@gmail.com"));
  CHECK(canonical_address("\".a\"@d.org") == "\".a\"@d.org");  // not a dot-string: stays quoted
  CHECK(canonical_address("usr%gmail.com@Sustech.edu.cn") == "usr%gmail.com@sustech.edu.cn");
  CHECK(canonical_address("postmaster") == "postmaster");
  CHECK(canonical_address("") == "");
}
