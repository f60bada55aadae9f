package console

import (
	"encoding/json"
	"html/template"
)

// T returns the message key in language l (English when missing).
func T(l, key string) string {
	if m, ok := messages[l][key]; ok {
		return m
	}
	if m, ok := messages["en"][key]; ok {
		return m
	}
	return key
}

// scriptKeys are the messages the page's script needs.
var scriptKeys = []string{"live", "reconnecting", "session_ended", "paused", "close_confirm", "state_open", "state_scheduled", "state_sold_out", "state_closed"}

func msgs(l string) template.JS {
	m := map[string]string{}
	for _, k := range scriptKeys {
		m[k] = T(l, k)
	}
	b, _ := json.Marshal(m)
	return template.JS(b)
}

var messages = map[string]map[string]string{
	"en": {
		"console": "Operator console", "skip": "Skip to the content", "nav": "Console", "drops": "Drops", "new_drop": "New drop",
		"incidents": "Incidents", "audit": "Audit log", "status_page": "Status page", "sign_in": "Sign in", "sign_out": "Sign out",
		"session_until": "Signed in until", "signin_needed": "Sign in to continue; your session ended or you were not signed in.",
		"token_label": "Admin token or API key", "token_hint": "The token the server was started with (--admin-token), or a tenant's API key.",
		"token_required": "Enter the admin token or an API key.", "token_wrong": "That token is not the admin token nor a working API key.",
		"too_many_tries": "Too many wrong tokens from your address; wait a minute and try again.",
		"not_found":      "There is no such drop, or it is not yours.", "back_to_drops": "Back to the drops",
		"drop": "Drop", "state": "State", "starts_at": "Opens", "stock": "Stock", "sold": "Sold", "waiting": "Waiting", "links": "Pages",
		"live": "Live", "report": "Report", "orders": "Orders", "no_drops": "No drops yet.",
		"state_scheduled": "Scheduled", "state_open": "On sale", "state_sold_out": "Sold out", "state_closed": "Closed", "paused": "Paused",
		"f_id": "ID", "f_name": "Name", "f_stock": "Stock", "f_price": "Price", "f_currency": "Currency", "f_per_customer_limit": "Per-customer limit",
		"f_starts_at": "Opens at (your local time)", "f_hold_seconds": "Hold seconds", "f_admit_per_second": "Admissions per second",
		"f_vouchers": "Voucher codes (optional)", "f_ends_at": "Ends at (your local time)",
		"field_id_hint": "Lower-case letters, digits, - and _; it is in the buyers' link.", "field_price_hint": "In the currency's smallest unit (won).",
		"field_starts_hint":   "Buyers who come earlier wait, and are placed in random order at the opening.",
		"field_vouchers_hint": "One code per unit, separated by spaces or lines.", "create_drop": "Create the drop",
		"not_a_number": "Enter a whole number.", "bad_time": "Enter a date and time.",
		"buyer_page": "Buyer page", "live_as_served": "Figures as of loading", "figures": "Figures",
		"admitted": "Admitted", "holds": "Held", "awaiting_payment": "Awaiting payment", "stock_left": "Stock left",
		"admission_rate": "Admission rate", "setting": "set to", "joins_per_s": "Joins/s", "error_rate": "Error rate (5xx)",
		"p99_latency": "p99 latency", "eta_sellout": "Sell-out in", "charts": "Charts", "controls": "Controls",
		"pause_admission": "Pause admission", "pause_hint": "Nobody is admitted while paused; waiting buyers keep their place and see that the line is paused.",
		"reason_optional": "Reason shown to buyers (optional)", "pause": "Pause", "resume_admission": "Resume admission",
		"resume_hint": "Admission moves on at the set rate.", "resume": "Resume", "change_drop": "Change the drop",
		"change_hint":   "Fill in only what changes. Stock can go down to what is held, awaiting payment and sold.",
		"apply_changes": "Apply", "close_now": "End the sale now", "close_hint": "The queue stops, holds are released, nothing more is sold. This cannot be undone.",
		"type_id_to_confirm": "Type the drop's ID to confirm:", "close_confirm": "End this sale now? This cannot be undone.",
		"confirm_id":     "Type the drop's ID exactly to end the sale.",
		"recent_changes": "Recent changes", "no_changes": "No changes yet.",
		"notice_paused": "Admission is paused.", "notice_resumed": "Admission resumed.", "notice_closed": "The sale has ended.", "notice_updated": "The drop is changed.",
		"notice_incident_opened": "The incident is open and on the status page.", "notice_incident_updated": "The incident is updated.",
		"summary": "Summary", "orders_csv": "Orders (CSV)", "print": "Print", "generated_at": "report made",
		"sellout_time": "Sold out after the opening", "wait_p50_p90_p99": "Wait p50 / p90 / p99", "holds_expired": "Holds expired",
		"holds_released": "Holds released", "kendall_tau": "Kendall tau, arrival vs admission", "early_shuffle_tau": "Early arrivals' shuffle (tau, ≈0 is fair)",
		"funnel": "Funnel", "step": "Step", "count": "Count", "of_joined": "Of joined",
		"funnel_joined": "Joined", "funnel_admitted": "Admitted", "funnel_held": "Held", "funnel_ordered": "Ordered", "funnel_paid": "Paid",
		"refusals": "Refusals", "code": "Code", "refusals_hint": "Holds, releases and orders the sale refused, by reason.",
		"incidents_during": "Incidents during the sale",
		"bots_challenges":  "Bots: the join challenge", "ch_issued": "Challenges handed out", "ch_solved": "Solved (tickets given)",
		"ch_wrong": "Wrong or expired solutions", "ch_reused": "Solutions used twice",
		"ch_scope": "Counted by this node since it started, over every drop. Refused holds and orders above count per drop.", "none": "None.",
		"search_orders": "Search orders (ID, customer, voucher, status)", "search": "Search", "export_csv": "Export CSV",
		"orders_found": "Orders", "newest_shown": "showing the newest", "created": "Created", "customer": "Customer",
		"quantity": "Qty", "voucher": "Voucher", "status": "Status",
		"when": "When", "who": "Who", "from": "From", "action": "Action", "target": "Target", "detail": "Detail", "older": "Older entries",
		"open_incident": "Open an incident", "f_incident_name": "Title", "impact": "Impact", "message": "Message", "components": "Affected drops",
		"post_update": "Post update", "no_incidents": "No incidents.",
		"inc_investigating": "Investigating", "inc_identified": "Identified", "inc_monitoring": "Monitoring", "inc_resolved": "Resolved",
		"impact_none": "None", "impact_minor": "Minor", "impact_major": "Major", "impact_critical": "Critical",
		"chart_counts": "Queue and sale", "chart_rates": "Per second", "chart_funnel": "Funnel", "chart_wait": "Wait from joining to admission",
		"seconds_since_opening": "seconds since the opening", "people_units": "people / units", "per_second": "per second",
		"people": "people", "seconds": "seconds", "opening": "opening", "admitted_per_s": "admitted/s", "sold_per_s": "sold/s",
		"reconnecting": "Reconnecting…", "session_ended": "Your session ended; sign in again.",
	},
	"ko": {
		"console": "운영 콘솔", "skip": "본문으로 건너뛰기", "nav": "콘솔", "drops": "판매", "new_drop": "새 판매",
		"incidents": "장애", "audit": "변경 기록", "status_page": "상태 페이지", "sign_in": "로그인", "sign_out": "로그아웃",
		"session_until": "로그인 유지:", "signin_needed": "계속하려면 로그인하세요. 세션이 끝났거나 로그인하지 않았습니다.",
		"token_label": "관리자 토큰 또는 API 키", "token_hint": "서버를 시작할 때 준 토큰(--admin-token) 또는 파트너의 API 키입니다.",
		"token_required": "관리자 토큰이나 API 키를 입력하세요.", "token_wrong": "관리자 토큰도, 사용 가능한 API 키도 아닙니다.",
		"too_many_tries": "잘못된 토큰 입력이 너무 많습니다. 1분 뒤에 다시 시도하세요.",
		"not_found":      "그런 판매가 없거나 접근 권한이 없습니다.", "back_to_drops": "판매 목록으로",
		"drop": "판매", "state": "상태", "starts_at": "시작", "stock": "재고", "sold": "판매됨", "waiting": "대기", "links": "페이지",
		"live": "실시간", "report": "리포트", "orders": "주문", "no_drops": "아직 판매가 없습니다.",
		"state_scheduled": "예정", "state_open": "판매 중", "state_sold_out": "품절", "state_closed": "종료", "paused": "일시 정지",
		"f_id": "ID", "f_name": "이름", "f_stock": "재고", "f_price": "가격", "f_currency": "통화", "f_per_customer_limit": "1인당 한도",
		"f_starts_at": "시작 시각(현지 시간)", "f_hold_seconds": "확보 유지 시간(초)", "f_admit_per_second": "초당 입장 인원",
		"f_vouchers": "쿠폰 코드(선택)", "f_ends_at": "종료 시각(현지 시간)",
		"field_id_hint": "영문 소문자, 숫자, -, _ 만 쓸 수 있고 구매 링크에 들어갑니다.", "field_price_hint": "통화의 최소 단위(원)입니다.",
		"field_starts_hint":   "먼저 온 구매자는 기다렸다가 시작 시 무작위 순서로 배치됩니다.",
		"field_vouchers_hint": "수량 하나에 코드 하나, 공백이나 줄로 구분합니다.", "create_drop": "판매 만들기",
		"not_a_number": "정수를 입력하세요.", "bad_time": "날짜와 시각을 입력하세요.",
		"buyer_page": "구매자 페이지", "live_as_served": "불러온 시점의 수치", "figures": "수치",
		"admitted": "입장", "holds": "확보", "awaiting_payment": "결제 대기", "stock_left": "남은 재고",
		"admission_rate": "입장 속도", "setting": "설정", "joins_per_s": "초당 대기 진입", "error_rate": "오류율(5xx)",
		"p99_latency": "p99 응답 시간", "eta_sellout": "품절 예상", "charts": "차트", "controls": "제어",
		"pause_admission": "입장 일시 정지", "pause_hint": "정지 중에는 아무도 입장하지 않습니다. 대기자는 순번을 유지하며 대기열이 멈췄다는 안내를 봅니다.",
		"reason_optional": "구매자에게 보일 사유(선택)", "pause": "일시 정지", "resume_admission": "입장 재개",
		"resume_hint": "설정된 속도로 다시 입장합니다.", "resume": "재개", "change_drop": "판매 변경",
		"change_hint":   "바꿀 항목만 입력하세요. 재고는 확보, 결제 대기, 판매된 수량까지만 줄일 수 있습니다.",
		"apply_changes": "적용", "close_now": "지금 판매 종료", "close_hint": "대기열이 멈추고 확보가 풀리며 더 이상 판매하지 않습니다. 되돌릴 수 없습니다.",
		"type_id_to_confirm": "확인을 위해 판매 ID를 입력하세요:", "close_confirm": "이 판매를 지금 종료할까요? 되돌릴 수 없습니다.",
		"confirm_id":     "판매를 종료하려면 판매 ID를 정확히 입력하세요.",
		"recent_changes": "최근 변경", "no_changes": "아직 변경이 없습니다.",
		"notice_paused": "입장을 일시 정지했습니다.", "notice_resumed": "입장을 재개했습니다.", "notice_closed": "판매를 종료했습니다.", "notice_updated": "판매를 변경했습니다.",
		"notice_incident_opened": "장애를 등록하고 상태 페이지에 게시했습니다.", "notice_incident_updated": "장애 소식을 갱신했습니다.",
		"summary": "요약", "orders_csv": "주문(CSV)", "print": "인쇄", "generated_at": "리포트 작성",
		"sellout_time": "시작 후 품절까지", "wait_p50_p90_p99": "대기 p50 / p90 / p99", "holds_expired": "만료된 확보",
		"holds_released": "취소된 확보", "kendall_tau": "켄달 타우(도착 순서 대 입장 순서)", "early_shuffle_tau": "사전 도착자 섞기(타우, 0에 가까울수록 공정)",
		"funnel": "퍼널", "step": "단계", "count": "수", "of_joined": "진입 대비",
		"funnel_joined": "대기 진입", "funnel_admitted": "입장", "funnel_held": "확보", "funnel_ordered": "주문", "funnel_paid": "결제 완료",
		"refusals": "거절", "code": "코드", "refusals_hint": "판매가 거절한 확보, 취소, 주문을 사유별로 셉니다.",
		"incidents_during": "판매 중 장애",
		"bots_challenges":  "봇: 대기열 진입 챌린지", "ch_issued": "발급한 챌린지", "ch_solved": "풀이 성공(티켓 발급)",
		"ch_wrong": "틀리거나 만료된 풀이", "ch_reused": "두 번 쓴 풀이",
		"ch_scope": "이 노드가 시작한 뒤 모든 판매에 대해 센 값입니다. 위의 거절 수는 판매별입니다.", "none": "없음.",
		"search_orders": "주문 검색(ID, 고객, 쿠폰, 상태)", "search": "검색", "export_csv": "CSV 내보내기",
		"orders_found": "주문", "newest_shown": "최신 표시", "created": "생성", "customer": "고객",
		"quantity": "수량", "voucher": "쿠폰", "status": "상태",
		"when": "시각", "who": "누가", "from": "주소", "action": "작업", "target": "대상", "detail": "내용", "older": "이전 기록",
		"open_incident": "장애 등록", "f_incident_name": "제목", "impact": "영향", "message": "메시지", "components": "영향받는 판매",
		"post_update": "소식 게시", "no_incidents": "장애가 없습니다.",
		"inc_investigating": "조사 중", "inc_identified": "원인 확인", "inc_monitoring": "모니터링", "inc_resolved": "해결",
		"impact_none": "없음", "impact_minor": "경미", "impact_major": "주요", "impact_critical": "심각",
		"chart_counts": "대기열과 판매", "chart_rates": "초당", "chart_funnel": "퍼널", "chart_wait": "대기 진입부터 입장까지",
		"seconds_since_opening": "시작 후 초", "people_units": "명 / 개", "per_second": "초당",
		"people": "명", "seconds": "초", "opening": "시작", "admitted_per_s": "입장/초", "sold_per_s": "판매/초",
		"reconnecting": "다시 연결하는 중…", "session_ended": "세션이 끝났습니다. 다시 로그인하세요.",
	},
}
