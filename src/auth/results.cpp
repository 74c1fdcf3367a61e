#include "auth/results.h"

namespace spamgate::auth {

std::string_view spfResultName(SpfResult result) {
  switch (result) {
    case SpfResult::None:
      return "none";
    case SpfResult::Neutral:
      return "neutral";
    case SpfResult::Pass:
      return "pass";
    case SpfResult::Fail:
      return "fail";
    case SpfResult::SoftFail:
      return "softfail";
    case SpfResult::TempError:
      return "temperror";
    case SpfResult::PermError:
      return "permerror";
  }
  return "none";
}

std::string_view dkimResultName(DkimResult result) {
  switch (result) {
    case DkimResult::None:
      return "none";
    case DkimResult::Pass:
      return "pass";
    case DkimResult::Fail:
      return "fail";
    case DkimResult::Policy:
      return "policy";
    case DkimResult::Neutral:
      return "neutral";
    case DkimResult::TempError:
      return "temperror";
    case DkimResult::PermError:
      return "permerror";
  }
  return "none";
}

std::string_view dmarcResultName(DmarcResult result) {
  switch (result) {
    case DmarcResult::None:
      return "none";
    case DmarcResult::Pass:
      return "pass";
    case DmarcResult::Fail:
      return "fail";
    case DmarcResult::TempError:
      return "temperror";
    case DmarcResult::PermError:
      return "permerror";
  }
  return "none";
}

std::string_view dmarcPolicyName(DmarcPolicy policy) {
  switch (policy) {
    case DmarcPolicy::None:
      return "none";
    case DmarcPolicy::Quarantine:
      return "quarantine";
    case DmarcPolicy::Reject:
      return "reject";
  }
  return "none";
}

}  // namespace spamgate::auth
