package status

// BuyerMessage is one message to one buyer: an email, and an SMS when a
// phone number is known.
type BuyerMessage struct {
	Buyer
	Subject string
	Text    string // the email's body
	SMS     string
}

// Kind of the deliveries NotifyBuyers makes.
const EventBuyerMessage = "buyer.message"

// NotifyBuyers queues messages to buyers through the email and SMS channels,
// with the outbox's retries, in one write. The sale core uses it to tell
// draw entrants their result.
func (s *Service) NotifyBuyers(msgs []BuyerMessage) error {
	if len(msgs) == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	return s.mutateLocked(func(b *batch) error {
		var ds []*Delivery
		for _, bm := range msgs {
			m := message{eventID: newID("evt"), kind: EventBuyerMessage, at: now, subject: bm.Subject, text: bm.Text, sms: bm.SMS}
			if bm.Email != "" {
				ds = append(ds, s.deliveryFor(m, "", ChannelEmail, bm.Email, "", ""))
			}
			if bm.Phone != "" && bm.SMS != "" {
				ds = append(ds, s.deliveryFor(m, "", ChannelSMS, bm.Phone, "", ""))
			}
		}
		s.enqueueLocked(b, ds)
		return nil
	})
}
