// Config errors: every class of mistake is reported as "FILE:LINE: key 'K': reason", with the
// line of the offending value and the full dotted key, so an operator can go straight to it.
#include <gtest/gtest.h>

#include <ostream>
#include <string>

#include "config/config.h"

namespace spamgate::config {
namespace {

struct ErrorCase {
  const char* name;
  const char* text;
  const char* message;
};

// Keeps ctest's test names readable instead of a byte dump of the struct.
void PrintTo(const ErrorCase& error_case, std::ostream* out) {
  *out << error_case.name;
}

std::string errorOf(const std::string& text) {
  try {
    parse(text, "t.toml");
  } catch (const ConfigError& error) {
    return error.what();
  }
  return "(no error)";
}

std::string caseName(const ::testing::TestParamInfo<ErrorCase>& param_info) {
  return param_info.param.name;
}

class ConfigErrors : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(ConfigErrors, NamesFileLineAndKey) {
  EXPECT_EQ(errorOf(GetParam().text), GetParam().message);
}

const ErrorCase kUnknown[] = {
    {"TopLevelKey", "bogus = 1\n", "t.toml:1: key 'bogus': unknown key"},
    {"TopLevelTable", "\n[bogus]\nx = 1\n", "t.toml:2: key 'bogus': unknown key"},
    {"KeyInSection", "[server]\nmax_recipient = 5\n",
     "t.toml:2: key 'server.max_recipient': unknown key"},
    {"NestedTable", "[server.limits]\nx = 1\n", "t.toml:1: key 'server.limits': unknown key"},
    {"KeyInTimeouts", "[server.timeouts]\ngreeting = 5\ndata = 5\n",
     "t.toml:3: key 'server.timeouts.data': unknown key"},
    {"DottedKey", "[backend]\ntls.mode = \"none\"\n",
     "t.toml:2: key 'backend.tls': expected a string, got a table"},
};
INSTANTIATE_TEST_SUITE_P(Unknown, ConfigErrors, ::testing::ValuesIn(kUnknown), caseName);

const ErrorCase kType[] = {
    {"StringForInteger", "[server]\n\nmax_recipients = \"100\"\n",
     "t.toml:3: key 'server.max_recipients': expected an integer, got a string"},
    {"FloatForInteger", "[server]\nworkers = 2.0\n",
     "t.toml:2: key 'server.workers': expected an integer, got a float"},
    {"IntegerForString", "[server]\nhostname = 7\n",
     "t.toml:2: key 'server.hostname': expected a string, got an integer"},
    {"StringForBool", "[connection_limits]\nenabled = \"yes\"\n",
     "t.toml:2: key 'connection_limits.enabled': expected a boolean, got a string"},
    {"StringForFloat", "[policy]\ntag_score = \"5\"\n",
     "t.toml:2: key 'policy.tag_score': expected a number, got a string"},
    {"ValueForSection", "server = 1\n", "t.toml:1: key 'server': expected a table, got an integer"},
    {"StringForArray", "[server]\nlisten = \"127.0.0.1:25\"\n",
     "t.toml:2: key 'server.listen': expected an array of strings, got a string"},
    {"IntegerInArray", "[server]\nlisten = [\n  \"127.0.0.1:25\",\n  25,\n]\n",
     "t.toml:4: key 'server.listen': expected an array of strings, got an integer"},
    {"FloatVersion", "[tls]\nmin_version = 1.2\n",
     "t.toml:2: key 'tls.min_version': expected a string, got a float"},
    {"InfiniteScore", "[policy]\nreject_score = inf\n",
     "t.toml:2: key 'policy.reject_score': must be a finite number"},
};
INSTANTIATE_TEST_SUITE_P(Type, ConfigErrors, ::testing::ValuesIn(kType), caseName);

const ErrorCase kRange[] = {
    {"Negative", "[server]\nworkers = -1\n",
     "t.toml:2: key 'server.workers': must not be negative"},
    {"ZeroRecipients", "[server]\nmax_recipients = 0\n",
     "t.toml:2: key 'server.max_recipients': must be between 1 and 1000000, not 0"},
    {"CommandLineBelowRfc", "[server]\nmax_command_line = 100\n",
     "t.toml:2: key 'server.max_command_line': must be between 512 and 65536, not 100"},
    {"ZeroTimeout", "[server.timeouts]\ncommand = 0\n",
     "t.toml:2: key 'server.timeouts.command': must be between 1 and 86400, not 0"},
    {"HugeTimeout", "[backend]\ndata_timeout = 100000\n",
     "t.toml:2: key 'backend.data_timeout': must be between 1 and 86400, not 100000"},
    {"RejectNotAboveTag", "[policy]\ntag_score = 10\nreject_score = 10.0\n",
     "t.toml:3: key 'policy.reject_score': must be greater than tag_score (10)"},
    {"TagAboveDefaultReject", "[policy]\ntag_score = 20\n",
     "t.toml:2: key 'policy.tag_score': must be less than reject_score (15)"},
};
INSTANTIATE_TEST_SUITE_P(Range, ConfigErrors, ::testing::ValuesIn(kRange), caseName);

const ErrorCase kEnum[] = {
    {"BareLinefeed", "[server]\nbare_linefeed = \"fix\"\n",
     "t.toml:2: key 'server.bare_linefeed': must be one of \"normalize\", \"reject\", not \"fix\""},
    {"ForwardClient", "[backend]\nforward_client = \"XCLIENT\"\n",
     "t.toml:2: key 'backend.forward_client': must be one of \"xclient\", \"xforward\", \"none\", "
     "not \"XCLIENT\""},
    {"BackendTls", "[backend]\ntls = \"yes\"\n",
     "t.toml:2: key 'backend.tls': must be one of \"none\", \"opportunistic\", \"required\", not "
     "\"yes\""},
    {"TlsVersion", "[tls]\nmin_version = \"1.4\"\n",
     "t.toml:2: key 'tls.min_version': must be one of \"1.0\", \"1.1\", \"1.2\", \"1.3\", not "
     "\"1.4\""},
};
INSTANTIATE_TEST_SUITE_P(Enum, ConfigErrors, ::testing::ValuesIn(kEnum), caseName);

const ErrorCase kAddress[] = {
    {"HostName", "[server]\nlisten = [\"localhost:25\"]\n",
     "t.toml:2: key 'server.listen': \"localhost:25\": not a numeric IPv4 address (host names are "
     "not resolved)"},
    {"NoPort", "[server]\nlisten = [\"127.0.0.1\"]\n",
     "t.toml:2: key 'server.listen': \"127.0.0.1\": expected ADDRESS:PORT"},
    {"PortZero", "[server]\nlisten = [\"127.0.0.1:0\"]\n",
     "t.toml:2: key 'server.listen': \"127.0.0.1:0\": port must be between 1 and 65535"},
    {"PortTooBig", "[server]\nlisten_tls = [\"[::1]:65536\"]\n",
     "t.toml:2: key 'server.listen_tls': \"[::1]:65536\": port must be between 1 and 65535"},
    {"PortNotNumber", "[server]\nlisten = [\"127.0.0.1:smtp\"]\n",
     "t.toml:2: key 'server.listen': \"127.0.0.1:smtp\": port must be a number"},
    {"Ipv6WithoutBrackets", "[server]\nlisten = [\"::1:25\"]\n",
     "t.toml:2: key 'server.listen': \"::1:25\": IPv6 addresses need brackets, as in "
     "\"[::1]:25\""},
    {"Ipv6NoPort", "[server]\nlisten = [\"[::1]\"]\n",
     "t.toml:2: key 'server.listen': \"[::1]\": expected ':PORT' after ']'"},
    {"Ipv6Bad", "[server]\nlisten = [\"[::g]:25\"]\n",
     "t.toml:2: key 'server.listen': \"[::g]:25\": not a numeric IPv6 address"},
    {"SecondEntryLine", "[server]\nlisten = [\n  \"127.0.0.1:25\",\n  \"127.0.0.1:x\",\n]\n",
     "t.toml:4: key 'server.listen': \"127.0.0.1:x\": port must be a number"},
    {"Duplicate", "[server]\nlisten = [\"[::1]:25\"]\nlisten_tls = [\"[0::1]:25\"]\n",
     "t.toml:3: key 'server.listen_tls': \"[0::1]:25\": address listed twice"},
    {"BackendHostName", "[backend]\naddress = \"mail.example.com:25\"\n",
     "t.toml:2: key 'backend.address': not a numeric IPv4 address (host names are not resolved)"},
    {"BackendPortZero", "[backend]\naddress = \"127.0.0.1:0\"\n",
     "t.toml:2: key 'backend.address': port must be between 1 and 65535"},
    {"EmptyMaildir", "[backend]\naddress = \"maildir:\"\n",
     "t.toml:2: key 'backend.address': \"maildir:\" needs a directory, as in \"maildir:PATH\""},
};
INSTANTIATE_TEST_SUITE_P(Address, ConfigErrors, ::testing::ValuesIn(kAddress), caseName);

const ErrorCase kText[] = {
    {"HostnameWithCrLf", "[server]\nhostname = \"mx\\r\\n250 x\"\n",
     "t.toml:2: key 'server.hostname': host names allow only letters, digits, '-' and '.'"},
    {"HostnameEmpty", "[server]\nhostname = \"\"\n",
     "t.toml:2: key 'server.hostname': must not be empty"},
    {"HostnameDash", "[server]\nhostname = \"-mx.example.com\"\n",
     "t.toml:2: key 'server.hostname': a label may not start or end with '-'"},
    {"HeloEmptyLabel", "[backend]\nhelo_name = \"mx..example\"\n",
     "t.toml:2: key 'backend.helo_name': empty label in host name"},
    {"BannerWithNewline", "[server]\nbanner = \"hi\\r\\n554 x\"\n",
     "t.toml:2: key 'server.banner': only printable ASCII is allowed"},
    {"EmptyCertificatePath", "[tls]\ncertificate = \"\"\n",
     "t.toml:2: key 'tls.certificate': must not be empty"},
    {"PathWithNul", "[log]\ndecisions = \"a\\u0000b\"\n",
     "t.toml:2: key 'log.decisions': contains a control character"},
};
INSTANTIATE_TEST_SUITE_P(Text, ConfigErrors, ::testing::ValuesIn(kText), caseName);

const ErrorCase kCross[] = {
    {"CertificateWithoutKey", "[tls]\n\ncertificate = \"c.pem\"\n",
     "t.toml:3: key 'tls.certificate': set without tls.private_key; both are needed for TLS"},
    {"KeyWithoutCertificate", "[tls]\nprivate_key = \"k.pem\"\n",
     "t.toml:2: key 'tls.private_key': set without tls.certificate; both are needed for TLS"},
    {"NoListener", "[server]\nlisten = []\nlisten_tls = []\n",
     "t.toml:2: key 'server.listen': listen and listen_tls are both empty: nothing to accept "
     "connections on"},
    {"ImplicitTlsWithoutTls", "[server]\nlisten_tls = [\"127.0.0.1:465\"]\n",
     "t.toml:2: key 'server.listen_tls': implicit TLS needs tls.certificate and tls.private_key"},
};
INSTANTIATE_TEST_SUITE_P(Cross, ConfigErrors, ::testing::ValuesIn(kCross), caseName);

TEST(ConfigSyntax, ReportsTheLineOfTheParseError) {
  const std::string message = errorOf("[server]\nworkers = 1\nhostname = \"unterminated\n");
  EXPECT_EQ(message.rfind("t.toml:3: TOML syntax error: ", 0), 0u) << message;
}

TEST(ConfigSyntax, DuplicateKey) {
  const std::string message = errorOf("[server]\nworkers = 1\nworkers = 2\n");
  EXPECT_EQ(message.rfind("t.toml:3: TOML syntax error: ", 0), 0u) << message;
}

}  // namespace
}  // namespace spamgate::config
