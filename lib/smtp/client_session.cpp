#include "smtp/client_session.hpp"

#include "util/auth.hpp"
#include "util/text.hpp"

namespace mail::smtp {

Outcome outcome_of(const RecipientResult& r, std::string mta, std::string tls) {
  if (r.local) {  // no server said it (RFC 3464 2.3.6: no Remote-MTA, no smtp Diagnostic-Code)
    auto o = Outcome::from_reply(r.reply, "", "", "");
    o.code = 0;
    return o;
  }
  return Outcome::from_reply(r.reply, std::move(mta), r.command, std::move(tls));
}

ClientStep ClientSession::fail(const Reply& r) {
  failure_ = r;
  state_ = State::closed;
  return {{}, ClientEvent::failed};
}

ClientStep ClientSession::on_reply(const Reply& r) {
  switch (state_) {
    case State::greeting:
      if (r.code != 220) return fail(r);
      state_ = State::ehlo;
      return {"EHLO " + helo_ + "\r\n"};
    case State::ehlo:
      if (r.positive()) {
        for (std::size_t i = 1; i < r.lines.size(); ++i) {
          std::string_view l = r.lines[i];
          auto word = l.substr(0, l.find(' '));
          if (util::iequals(word, "PIPELINING")) pipelining_ = true;
          if (util::iequals(word, "STARTTLS")) starttls_ = true;
          if (util::iequals(word, "8BITMIME")) eight_bit_mime_ = true;
          if (util::iequals(word, "AUTH")) {
            for (std::size_t p = 4; p < l.size();) {
              auto e = l.find(' ', p + 1);
              auto mech = util::trim(l.substr(p, e == std::string_view::npos ? std::string_view::npos : e - p));
              if (util::iequals(mech, "PLAIN")) auth_plain_ = true;
              if (util::iequals(mech, "LOGIN")) auth_login_ = true;
              p = e == std::string_view::npos ? l.size() : e;
            }
          }
          if (util::iequals(word, "SIZE") && l.size() > 5)
            if (auto n = util::parse_uint(util::trim(l.substr(5)), UINT64_MAX); n && *n > 0) size_limit_ = *n;
        }
        state_ = State::ready;
        return {{}, ClientEvent::ready};
      }
      if (!r.permanent()) return fail(r);
      state_ = State::helo;  // an old server: try HELO (RFC 5321 3.2)
      return {"HELO " + helo_ + "\r\n"};
    case State::helo:
      if (!r.positive()) return fail(r);
      state_ = State::ready;
      return {{}, ClientEvent::ready};
    case State::mail:
      mail_reply_ = r;
      if (pipelining_) {  // the RCPTs and DATA are on their way: read their replies too
        state_ = State::rcpt;
        return {};
      }
      if (!r.positive()) return finish_message(r, "MAIL FROM");  // no transaction opened
      state_ = State::rcpt;
      return next_envelope_command();
    case State::rcpt:
      rcpt_replies_[replied_rcpt_++] = r;
      if (!pipelining_) return next_envelope_command();
      if (replied_rcpt_ == msg_.recipients.size()) state_ = State::data;
      return {};
    case State::data: {
      bool any = mail_reply_->positive();
      bool accepted = false;
      for (const auto& rr : rcpt_replies_) accepted = accepted || (rr && rr->positive());
      any = any && accepted;
      if (r.code == 354) {
        state_ = State::body;
        if (any) return {{}, ClientEvent::send_body};
        return {".\r\n"};  // pipelined DATA accepted without recipients: send an empty message's end
      }
      // DATA went out for accepted recipients, yet no 354 (RFC 5321 4.1.1.4): a positive reply here
      // would count them delivered without their body. Nothing is decided; they are retried.
      if (any && r.positive()) return fail(r);
      return finish_message(r, "DATA");  // DATA refused, or the reply to RSET after no accepted recipient
    }
    case State::body:
      return finish_message(r, "end of DATA");
    case State::reset:
      if (r.code != 250) return fail(r);
      state_ = State::ready;
      return {{}, ClientEvent::ready};
    case State::starttls:
      state_ = State::ready;
      if (r.code == 220) return {{}, ClientEvent::tls};
      failure_ = r;  // TLS refused: the session goes on in the clear
      return {{}, ClientEvent::ready};
    case State::auth_user:
      if (r.code != 334) break;
      state_ = State::auth_password;
      return {util::base64_encode(login_user_) + "\r\n"};
    case State::auth_password:
      if (r.code != 334) break;
      state_ = State::auth;
      return {util::base64_encode(login_password_) + "\r\n"};
    case State::ready:
    case State::done:
    case State::closed:
      return fail(r);  // a reply nobody asked for
    case State::auth:
      break;
  }
  // The end of an AUTH exchange (success, or a refusal at any step).
  std::fill(login_password_.begin(), login_password_.end(), '\0');
  login_password_.clear();
  authenticated_ = r.code == 235;
  if (!authenticated_) failure_ = r;
  state_ = State::ready;
  return {{}, ClientEvent::auth_done};
}

std::string ClientSession::starttls() {
  state_ = State::starttls;
  return "STARTTLS\r\n";
}

std::string ClientSession::restart() {
  pipelining_ = starttls_ = auth_plain_ = auth_login_ = eight_bit_mime_ = false;
  size_limit_.reset();
  state_ = State::ehlo;
  return "EHLO " + helo_ + "\r\n";
}

std::string ClientSession::authenticate(const std::string& user, const std::string& password) {
  if (auth_plain_ || !auth_login_) {
    state_ = State::auth;
    return "AUTH PLAIN " + util::base64_encode(std::string("\0", 1) + user + std::string("\0", 1) + password) + "\r\n";
  }
  login_user_ = user;
  login_password_ = password;
  state_ = State::auth_user;
  return "AUTH LOGIN\r\n";
}

// Without PIPELINING: the next RCPT, then DATA (or RSET when no recipient was accepted).
ClientStep ClientSession::next_envelope_command() {
  if (sent_rcpt_ < msg_.recipients.size()) {
    return {"RCPT TO:<" + msg_.recipients[sent_rcpt_++] + ">\r\n"};
  }
  bool accepted = false;
  for (const auto& rr : rcpt_replies_) accepted = accepted || (rr && rr->positive());
  state_ = State::data;
  if (accepted) return {"DATA\r\n"};
  return {"RSET\r\n"};  // its reply arrives in State::data and ends the message
}

ClientStep ClientSession::finish_message(const Reply& data_reply, const char* command) {
  results_.clear();
  for (std::size_t i = 0; i < msg_.recipients.size(); ++i) {
    if (mail_reply_ && !mail_reply_->positive()) results_.push_back({msg_.recipients[i], *mail_reply_, "MAIL FROM"});
    else if (rcpt_replies_[i] && !rcpt_replies_[i]->positive()) results_.push_back({msg_.recipients[i], *rcpt_replies_[i], "RCPT TO"});
    else results_.push_back({msg_.recipients[i], data_reply, command});
  }
  state_ = State::ready;
  return {{}, ClientEvent::message_done};
}

ClientStep ClientSession::begin(Outgoing message) {
  msg_ = std::move(message);
  rcpt_replies_.assign(msg_.recipients.size(), std::nullopt);
  sent_rcpt_ = replied_rcpt_ = 0;
  mail_reply_.reset();
  results_.clear();
  if (size_limit_ && msg_.size > *size_limit_) {
    // Refused here, nothing sent (RFC 1870 6): the reason is ours, from the size the server announced.
    const Reply why = reply(552, "5.3.4 message size " + std::to_string(msg_.size) + " exceeds the size limit " +
                                     std::to_string(*size_limit_) + " announced by " + peer_);
    for (const auto& rcpt : msg_.recipients) results_.push_back({rcpt, why, "", true});
    state_ = State::ready;
    return {{}, ClientEvent::message_done};
  }
  std::string out = "MAIL FROM:<" + msg_.sender + ">";
  if (size_limit_) out += " SIZE=" + std::to_string(msg_.size);
  // RFC 6152: 8-bit content is declared where the server takes the declaration; where it does not,
  // the message goes as it is (as Postfix does by default: no conversion to 7 bit).
  if (msg_.eight_bit && eight_bit_mime_) out += " BODY=8BITMIME";
  out += "\r\n";
  state_ = State::mail;
  if (pipelining_) {
    for (const auto& r : msg_.recipients) out += "RCPT TO:<" + r + ">\r\n";
    sent_rcpt_ = msg_.recipients.size();
    out += "DATA\r\n";
  }
  return {out};
}

std::string ClientSession::reset() {
  state_ = State::reset;
  failure_ = reply(0, "connection closed");  // until a reply says otherwise
  return "RSET\r\n";
}

std::string ClientSession::quit() {
  state_ = State::closed;
  return "QUIT\r\n";
}

}  // namespace mail::smtp
