import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { decideCaseMailRoute, decideSenderStanding, type SenderFacts } from './routing-rules.ts';

const standing = suite('The sender’s standing on the case a mail names');

const facts = (over: Partial<SenderFacts>): SenderFacts => ({
  sender: 'someone@elsewhere.example',
  senderCustomerId: null,
  isStaff: false,
  caseContactEmails: ['Per@Acme.se', null],
  caseCustomerId: 1,
  seenAddresses: ['lena@partner.example'],
  ...over,
});

standing('the case’s contact, whatever the case of the letters', () => {
  assert.is(decideSenderStanding(facts({ sender: 'per@acme.se', senderCustomerId: 1 })), 'case_contact');
  assert.is(decideSenderStanding(facts({ sender: ' PER@ACME.SE ' })), 'case_contact');
});

standing('a contact of the case’s customer', () => {
  assert.is(decideSenderStanding(facts({ sender: 'eva@acme.se', senderCustomerId: 1 })), 'customer_contact');
});

standing('an address already seen on the case', () => {
  assert.is(decideSenderStanding(facts({ sender: 'Lena@Partner.example' })), 'seen_on_case');
});

standing('a staff user', () => {
  assert.is(decideSenderStanding(facts({ sender: 'anna@example.com', isStaff: true })), 'staff');
});

standing('anyone else is a stranger: another customer’s contact, an unknown address, no address', () => {
  assert.is(decideSenderStanding(facts({ sender: 'bo@beta.se', senderCustomerId: 2 })), 'stranger');
  assert.is(decideSenderStanding(facts({ sender: 'mallory@evil.example' })), 'stranger');
  assert.is(decideSenderStanding(facts({ sender: null })), 'stranger');
  assert.is(decideSenderStanding(facts({ sender: '' })), 'stranger');
});

standing('a case without a customer has no customer contacts', () => {
  assert.is(decideSenderStanding(facts({ caseCustomerId: null, senderCustomerId: null })), 'stranger');
});

standing.run();

const route = suite('Where a mail that names a case goes');

route('a stranger makes a new case, however few mails they sent', () => {
  assert.is(decideCaseMailRoute({ standing: 'stranger', recentFromSender: 0, loopLimitPerHour: 10 }), 'stranger_case');
  assert.is(decideCaseMailRoute({ standing: 'stranger', recentFromSender: 50, loopLimitPerHour: 10 }), 'stranger_case');
});

route('a known sender joins the case up to the limit, then is a possible loop', () => {
  for (const s of ['case_contact', 'customer_contact', 'seen_on_case', 'staff'] as const) {
    assert.is(decideCaseMailRoute({ standing: s, recentFromSender: 0, loopLimitPerHour: 10 }), 'case');
    assert.is(decideCaseMailRoute({ standing: s, recentFromSender: 9, loopLimitPerHour: 10 }), 'case');
    assert.is(decideCaseMailRoute({ standing: s, recentFromSender: 10, loopLimitPerHour: 10 }), 'possible_loop');
    assert.is(decideCaseMailRoute({ standing: s, recentFromSender: 1, loopLimitPerHour: 1 }), 'possible_loop');
  }
});

route.run();
