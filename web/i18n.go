package web

import (
	"net/http"
	"strings"
	"time"

	"github.com/floodgate/floodgate/internal/chart"
	"github.com/floodgate/floodgate/internal/pages"
)

// pickLang chooses the page language (pages.Lang) and remembers an explicit
// ?lang= for every buyer page.
func (h *Handler) pickLang(w http.ResponseWriter, r *http.Request) string {
	pages.RememberLang(w, r, "/", h.isHTTPS(r))
	return pages.Lang(r)
}

// messages holds every sentence of the pages. Keys used by the script are
// sent to the page as JSON; {name} placeholders are filled in there.
var messages = map[string]map[string]string{
	"en": {
		"lang_name":             "English",
		"other_lang":            "한국어",
		"other_lang_code":       "ko",
		"brand_tagline":         "Fair queue · held items never lost",
		"noscript":              "This page needs JavaScript to keep your place in line. Please turn it on and reload.",
		"price":                 "Price",
		"stock":                 "Stock",
		"limit_per":             "Limit {n} per customer",
		"hold_minutes":          "Items are held for {n} min once it is your turn",
		"starts_in":             "Sale starts in",
		"starts_at":             "Starts {time}",
		"days":                  "d",
		"hours":                 "h",
		"minutes":               "m",
		"seconds":               "s",
		"join":                  "Join the waiting room",
		"joining":               "Joining…",
		"pow_progress":          "Checking your connection before you join: {pct}%",
		"pow_note":              "Many people are joining right now, some of them from your network. Your device does a short calculation that keeps bots out; your place is given as soon as it is done.",
		"pow_done":              "Check done; joining the waiting room.",
		"pow_unsupported":       "This browser cannot do the short check that joining needs right now. Try an up-to-date browser, or try again in a few minutes.",
		"join_early_note":       "Join before the start: everyone who arrives early is placed in random order at the start, so there is no need to reload at the exact second.",
		"join_open_note":        "Places are given in order of arrival. Your place is saved in this browser.",
		"waiting_title":         "You are in line",
		"position":              "Your place",
		"ahead":                 "Ahead of you",
		"place_drawn":           "Drawn at the start",
		"place_pending":         "Being placed",
		"eta":                   "Estimated wait",
		"eta_now":               "any moment",
		"eta_under_minute":      "under a minute",
		"eta_minutes":           "about {n} min",
		"eta_hours":             "about {h} h {m} min",
		"eta_hours_only":        "about {h} h",
		"live_position":         "You are number {position} in line, {ahead} ahead of you, wait {eta}.",
		"keep_open":             "You can reload, open another tab or close the browser: your place is saved here and you come back to it.",
		"queue_paused":          "The line is paused for a moment. You keep your place; it moves on as soon as the sale resumes.",
		"pause_reason":          "Reason: {reason}",
		"beyond_stock":          "The remaining stock will probably not reach your place. You keep it anyway: if others let their items go, the line moves on.",
		"reconnecting":          "Connection lost — reconnecting…",
		"live":                  "Live",
		"turn_title":            "It's your turn",
		"held_for_you":          "{n} item held for you",
		"time_left":             "Time left to buy",
		"paused":                "Paused",
		"paused_note":           "The clock is stopped while the sign-in service is down. Your item stays held.",
		"sign_in_to_buy":        "Sign in to buy",
		"sign_in_note":          "You will come back right here, with your item still held and its time.",
		"signed_in_as":          "Signed in as {customer}",
		"sign_out":              "Use another account",
		"buy":                   "Buy now · {price}",
		"buying":                "Placing your order…",
		"release":               "Let my item go",
		"release_confirm":       "Let the item go to the next person in line?",
		"released_title":        "Item released",
		"released":              "You let your item go. Thank you — it went to the next person in line.",
		"order_title":           "Order placed",
		"order_thanks":          "Thank you. Your order is confirmed.",
		"receipt_title":         "Signed receipt",
		"receipt_note":          "Proof of your place and your order, signed by the shop. Anyone can check it with the shop's public key (floodgate verify --receipt).",
		"receipt_download":      "Download receipt",
		"draw_title":            "Enter the draw",
		"draw_signin":           "Sign in to enter",
		"draw_enter":            "Enter the draw",
		"draw_claim":            "Claim and buy · {price}",
		"draw_open":             "Winners are drawn at random from all entries when entries close. One entry per customer.",
		"draw_ends":             "Entries close {time}",
		"draw_entered_title":    "You are in the draw",
		"draw_entered":          "Your entry is in. Come back after entries close to see if you were drawn.",
		"draw_won_title":        "You won",
		"draw_won":              "You were drawn (rank {rank} of {entries}). Claim your item before {time}.",
		"draw_lost_title":       "Not drawn",
		"draw_lost":             "You were not drawn this time. Thank you for entering.",
		"draw_backup_title":     "You are a backup",
		"draw_backup":           "You were not drawn yet: you are backup {rank} of {entries}. If a winner does not claim, the item passes to backups in order. Keep this page open.",
		"draw_expired_title":    "Claim time is over",
		"draw_expired":          "You were drawn, but the time to claim ran out, so the item went to the next in line.",
		"draw_ordered_title":    "Claimed",
		"draw_ordered":          "You claimed your win: order {order}.",
		"draw_closed":           "Entries for this draw have closed.",
		"order_id":              "Order number",
		"voucher":               "Your pass code",
		"voucher_note":          "Keep this code: it is yours alone.",
		"pay_title":             "Order placed: payment due",
		"pay_due":               "Pay by {at} to keep this order. If it is not paid by then, it expires and the item goes to the next person in line.",
		"pay_now":               "Pay now",
		"pay_no_link":           "The shop will tell you how to pay.",
		"order_expired_title":   "Your order expired",
		"order_expired":         "The order was not paid by its deadline, so it expired and the item went to the next person in line.",
		"order_cancelled_title": "Your order was cancelled",
		"order_cancelled":       "The shop cancelled this order. The item is no longer reserved for you.",
		"ordered_at":            "Ordered",
		"customer":              "Account",
		"sold_out_title":        "Sold out",
		"sold_out":              "Every item has been sold. Thank you for waiting with us.",
		"closed_title":          "This sale has ended",
		"closed":                "The sale is closed and no more orders are taken.",
		"expired_title":         "Your hold expired",
		"hold_expired":          "The time to buy ran out before the order was placed, so the item went to the next person in line.",
		"try_hold_again":        "Try again",
		"limit_title":           "Limit reached",
		"limit_exceeded":        "You have reached the limit of {n} per customer for this product.",
		"already_ordered":       "This item was already ordered.",
		"ticket_invalid":        "Your place in line could not be read (it was damaged, has expired or belongs to another sale). Join the waiting room again.",
		"not_admitted":          "It is not your turn yet; you keep your place in line.",
		"idp_down":              "The sign-in service is not answering. Your item stays held and its clock is paused; we keep checking.",
		"idp_back":              "The sign-in service is back. You can continue.",
		"login_failed":          "Sign-in could not be completed. Your item is still held; sign in again.",
		"login_denied":          "Sign-in was cancelled. Your item is still held.",
		"retry":                 "Retry",
		"unavailable":           "We are busy for a moment. Your place and your item are kept; retrying…",
		"error_generic":         "Something went wrong on our side. Your place is kept; try again.",
		"network_error":         "Your connection dropped. Your place is kept; retrying…",
		"not_found_title":       "Sale not found",
		"not_found":             "There is no sale at this address. Check the link you were given.",
		"load_error":            "The sale could not be loaded right now. Reload in a moment.",
		"index_title":           "Sales",
		"index_empty":           "There is no sale right now. Open the link of your sale.",
		"dev_login_title":       "Sign in (development)",
		"dev_login_note":        "This server runs in development mode: any email signs you in. Never use this in production.",
		"email":                 "Email",
		"continue":              "Continue",
		"login_bad_title":       "This sign-in link cannot be used",
		"login_bad":             "It was used already, has expired, or was not started in this browser. Nothing is lost: go back to your sale and sign in again.",
		"back_to_sale":          "Back to the sale",
		"login_off":             "Sign-in is not configured on this server. Ask the operator.",
		"state_scheduled":       "Coming soon",
		"state_open":            "On sale now",
		"state_sold_out":        "Sold out",
		"state_closed":          "Ended",
		"skip":                  "Skip to main content",
		"queue_progress":        "Progress in the line",
		"hold_progress":         "Time left",
		"dev_mode":              "Development mode: test sign-in is on",
	},
	"ko": {
		"lang_name":             "한국어",
		"other_lang":            "English",
		"other_lang_code":       "en",
		"brand_tagline":         "공정한 대기열 · 확보한 상품은 사라지지 않습니다",
		"noscript":              "대기 순번을 지키려면 JavaScript가 필요합니다. 켜고 새로고침해 주세요.",
		"price":                 "가격",
		"stock":                 "수량",
		"limit_per":             "1인당 {n}개 한정",
		"hold_minutes":          "차례가 되면 {n}분 동안 상품을 확보해 드립니다",
		"starts_in":             "판매 시작까지",
		"starts_at":             "{time} 시작",
		"days":                  "일",
		"hours":                 "시간",
		"minutes":               "분",
		"seconds":               "초",
		"join":                  "대기실 입장하기",
		"joining":               "입장 중…",
		"pow_progress":          "입장 전 접속 확인 중: {pct}%",
		"pow_note":              "지금 많은 분들이, 일부는 같은 네트워크에서 입장하고 있습니다. 봇을 막기 위해 기기에서 짧은 계산을 하고 있으며, 끝나는 즉시 순번이 배정됩니다.",
		"pow_done":              "확인 완료. 대기실에 입장합니다.",
		"pow_unsupported":       "이 브라우저에서는 지금 입장에 필요한 짧은 확인을 할 수 없습니다. 최신 브라우저를 사용하시거나 몇 분 뒤 다시 시도해 주세요.",
		"join_early_note":       "시작 전에 입장하신 분들은 시작 시각에 무작위 순서로 배정됩니다. 정각에 맞춰 새로고침하지 않으셔도 됩니다.",
		"join_open_note":        "도착한 순서대로 순번이 정해집니다. 순번은 이 브라우저에 저장됩니다.",
		"waiting_title":         "대기 중입니다",
		"position":              "내 순번",
		"ahead":                 "내 앞 대기",
		"place_drawn":           "시작 시각에 추첨",
		"place_pending":         "순번 배정 중",
		"eta":                   "예상 대기 시간",
		"eta_now":               "곧",
		"eta_under_minute":      "1분 미만",
		"eta_minutes":           "약 {n}분",
		"eta_hours":             "약 {h}시간 {m}분",
		"eta_hours_only":        "약 {h}시간",
		"live_position":         "현재 {position}번째, 앞에 {ahead}명, 예상 대기 {eta}.",
		"keep_open":             "새로고침하거나 다른 탭을 열거나 브라우저를 닫아도 순번은 이 브라우저에 저장되어 그대로 돌아옵니다.",
		"queue_paused":          "대기열이 잠시 멈췄습니다. 순번은 그대로 유지되며, 판매가 재개되면 바로 다시 움직입니다.",
		"pause_reason":          "사유: {reason}",
		"beyond_stock":          "남은 수량이 내 순번까지 닿지 않을 가능성이 높습니다. 그래도 순번은 유지됩니다. 다른 분이 확보를 취소하면 대기열이 다시 움직입니다.",
		"reconnecting":          "연결이 끊겼습니다 — 다시 연결하는 중…",
		"live":                  "실시간",
		"turn_title":            "고객님 차례입니다",
		"held_for_you":          "상품 {n}개를 확보해 두었습니다",
		"time_left":             "구매 가능 시간",
		"paused":                "일시 정지",
		"paused_note":           "로그인 서비스 장애 중에는 시간이 멈춥니다. 확보한 상품은 그대로 유지됩니다.",
		"sign_in_to_buy":        "로그인하고 구매하기",
		"sign_in_note":          "로그인 후 이 화면으로 돌아오며, 확보한 상품과 남은 시간이 그대로 유지됩니다.",
		"signed_in_as":          "{customer} 계정으로 로그인됨",
		"sign_out":              "다른 계정 사용",
		"buy":                   "{price} 구매하기",
		"buying":                "주문하는 중…",
		"release":               "확보 취소하기",
		"release_confirm":       "상품을 다음 대기자에게 넘길까요?",
		"released_title":        "확보 취소됨",
		"released":              "확보를 취소했습니다. 상품은 다음 대기자에게 돌아갔습니다. 감사합니다.",
		"order_title":           "주문 완료",
		"order_thanks":          "감사합니다. 주문이 확정되었습니다.",
		"receipt_title":         "서명된 영수증",
		"receipt_note":          "대기 순번과 주문을 증명하는, 상점이 서명한 영수증입니다. 누구나 상점의 공개 키로 확인할 수 있습니다(floodgate verify --receipt).",
		"receipt_download":      "영수증 내려받기",
		"draw_title":            "추첨 응모",
		"draw_signin":           "로그인하고 응모하기",
		"draw_enter":            "응모하기",
		"draw_claim":            "당첨 상품 구매 · {price}",
		"draw_open":             "응모가 마감되면 전체 응모자 중에서 무작위로 당첨자를 뽑습니다. 1인 1회 응모할 수 있습니다.",
		"draw_ends":             "응모 마감 {time}",
		"draw_entered_title":    "응모되었습니다",
		"draw_entered":          "응모가 접수되었습니다. 마감 후 이 페이지에서 결과를 확인하세요.",
		"draw_won_title":        "당첨되었습니다",
		"draw_won":              "당첨되었습니다(응모 {entries}명 중 {rank}순위). {time}까지 구매해 주세요.",
		"draw_lost_title":       "미당첨",
		"draw_lost":             "아쉽게도 이번에는 당첨되지 않았습니다. 응모해 주셔서 감사합니다.",
		"draw_backup_title":     "예비 당첨자입니다",
		"draw_backup":           "아직 당첨되지 않았습니다. 응모 {entries}명 중 예비 {rank}순위입니다. 당첨자가 구매하지 않으면 순서대로 기회가 넘어옵니다. 이 페이지를 열어 두세요.",
		"draw_expired_title":    "구매 기한이 지났습니다",
		"draw_expired":          "당첨되었지만 구매 기한이 지나 다음 순위로 넘어갔습니다.",
		"draw_ordered_title":    "구매 완료",
		"draw_ordered":          "당첨 상품을 구매했습니다: 주문 {order}.",
		"draw_closed":           "이 추첨의 응모가 마감되었습니다.",
		"order_id":              "주문 번호",
		"voucher":               "이용권 코드",
		"voucher_note":          "이 코드는 고객님만의 것입니다. 잘 보관해 주세요.",
		"pay_title":             "주문 접수: 결제 대기 중",
		"pay_due":               "{at}까지 결제해야 주문이 유지됩니다. 그때까지 결제하지 않으면 주문이 만료되고 상품은 다음 대기자에게 넘어갑니다.",
		"pay_now":               "지금 결제하기",
		"pay_no_link":           "결제 방법은 판매처에서 안내해 드립니다.",
		"order_expired_title":   "주문이 만료되었습니다",
		"order_expired":         "결제 기한까지 결제되지 않아 주문이 만료되었고, 상품은 다음 대기자에게 넘어갔습니다.",
		"order_cancelled_title": "주문이 취소되었습니다",
		"order_cancelled":       "판매처에서 이 주문을 취소했습니다. 상품은 더 이상 고객님을 위해 확보되어 있지 않습니다.",
		"ordered_at":            "주문 시각",
		"customer":              "계정",
		"sold_out_title":        "품절",
		"sold_out":              "모든 상품이 판매되었습니다. 기다려 주셔서 감사합니다.",
		"closed_title":          "판매가 종료되었습니다",
		"closed":                "판매가 마감되어 더 이상 주문을 받지 않습니다.",
		"expired_title":         "확보 시간이 끝났습니다",
		"hold_expired":          "주문 전에 구매 가능 시간이 끝나 상품이 다음 대기자에게 넘어갔습니다.",
		"try_hold_again":        "다시 시도",
		"limit_title":           "구매 한도 도달",
		"limit_exceeded":        "이 상품의 1인당 구매 한도({n}개)에 도달했습니다.",
		"already_ordered":       "이미 주문된 상품입니다.",
		"ticket_invalid":        "대기 순번 정보를 읽을 수 없습니다(손상되었거나 만료되었거나 다른 판매의 순번입니다). 대기실에 다시 입장해 주세요.",
		"not_admitted":          "아직 차례가 아닙니다. 순번은 그대로 유지됩니다.",
		"idp_down":              "로그인 서비스가 응답하지 않습니다. 확보한 상품은 유지되고 남은 시간은 멈춰 있습니다. 계속 확인하고 있습니다.",
		"idp_back":              "로그인 서비스가 복구되었습니다. 계속 진행하세요.",
		"login_failed":          "로그인을 완료하지 못했습니다. 상품은 그대로 확보되어 있으니 다시 로그인해 주세요.",
		"login_denied":          "로그인이 취소되었습니다. 상품은 그대로 확보되어 있습니다.",
		"retry":                 "다시 시도",
		"unavailable":           "잠시 혼잡합니다. 순번과 확보한 상품은 유지됩니다. 다시 시도하는 중…",
		"error_generic":         "일시적인 오류가 발생했습니다. 순번은 유지되니 다시 시도해 주세요.",
		"network_error":         "연결이 끊겼습니다. 순번은 유지됩니다. 다시 시도하는 중…",
		"not_found_title":       "판매를 찾을 수 없습니다",
		"not_found":             "이 주소에는 판매가 없습니다. 받으신 링크를 확인해 주세요.",
		"load_error":            "지금은 판매 정보를 불러올 수 없습니다. 잠시 후 새로고침해 주세요.",
		"index_title":           "판매 목록",
		"index_empty":           "진행 중인 판매가 없습니다. 받으신 판매 링크로 접속해 주세요.",
		"dev_login_title":       "로그인 (개발용)",
		"dev_login_note":        "개발 모드로 실행 중인 서버입니다. 어떤 이메일로도 로그인됩니다. 운영 환경에서는 절대 사용하지 마세요.",
		"email":                 "이메일",
		"continue":              "계속",
		"login_bad_title":       "이 로그인 링크는 사용할 수 없습니다",
		"login_bad":             "이미 사용되었거나 만료되었거나 이 브라우저에서 시작된 로그인이 아닙니다. 잃은 것은 없습니다. 판매 화면으로 돌아가 다시 로그인해 주세요.",
		"back_to_sale":          "판매 화면으로 돌아가기",
		"login_off":             "이 서버에는 로그인이 설정되어 있지 않습니다. 운영자에게 문의해 주세요.",
		"state_scheduled":       "판매 예정",
		"state_open":            "판매 중",
		"state_sold_out":        "품절",
		"state_closed":          "판매 종료",
		"skip":                  "본문으로 건너뛰기",
		"queue_progress":        "대기 진행률",
		"hold_progress":         "남은 시간",
		"dev_mode":              "개발 모드: 테스트 로그인이 켜져 있습니다",
	},
}

// T returns the message key in lang, with {name} placeholders filled from
// pairs of name and value.
func T(lang, key string, kv ...string) string {
	s, ok := messages[lang][key]
	if !ok {
		s = messages["en"][key]
	}
	for i := 0; i+1 < len(kv); i += 2 {
		s = strings.ReplaceAll(s, "{"+kv[i]+"}", kv[i+1])
	}
	return s
}

// formatPrice writes a price the way buyers of that language read it.
// Prices are in major units (KRW has no minor unit).
func formatPrice(lang string, amount int64, currency string) string {
	n := chart.Thousands(amount)
	switch currency {
	case "KRW", "":
		if lang == "ko" {
			return n + "원"
		}
		return "₩" + n
	case "USD":
		return "$" + n
	case "EUR":
		return "€" + n
	case "JPY":
		return "¥" + n
	default:
		return n + " " + currency
	}
}

// kst is the time zone of Korean buyers; English pages show UTC and the
// script rewrites it into the buyer's own zone.
var kst = time.FixedZone("KST", 9*3600)

func formatTime(lang string, t time.Time) string {
	if lang == "ko" {
		t = t.In(kst)
		return t.Format("1월 2일 15:04 (KST)")
	}
	return t.UTC().Format("Jan 2, 15:04 UTC")
}
