import { checkFilter, compileFilter, FILTER_LIMITS, FilterCache } from '../../lambdas/shared/domain/event-filter';
import { SAMPLE_VISIT } from '../../lambdas/shared/sample-payloads';

/**
 * The semantics of payload filters, case by case. Each case names where it comes from:
 * - "EB guide": the EventBridge user guide, "Content filtering in Amazon EventBridge event patterns"
 *   (and its pages "Arrays in event patterns" and "Matching null values and empty strings");
 * - "event-ruler": the README of aws/event-ruler, the library behind EventBridge's matching, or
 *   its tests (JsonRuleCompilerTest, CIDRTest);
 * - "visit": cases on the visit payload of the customer guide (sample-payloads.ts).
 */

function matches(pattern: unknown, payload: unknown): boolean {
  const compiled = compileFilter(pattern);
  if (!compiled.ok) throw new Error(`pattern refused: ${compiled.issue.message} at ${compiled.issue.path.join('.')}`);
  return compiled.matches(payload);
}

type Case = readonly [name: string, pattern: unknown, payload: unknown, expected: boolean];

/** The event of event-ruler's README and the EB guide's examples (its `detail`). */
const EC2_EVENT = {
  version: '0',
  id: 'ddddd4-aaaa-7777-4444-345dd43cc333',
  'detail-type': 'EC2 Instance State-change Notification',
  source: 'aws.ec2',
  account: '012345679012',
  time: '2017-10-02T16:24:49Z',
  region: 'us-east-1',
  resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000'],
  detail: { 'c-count': 5, 'd-count': 3, 'x-limit': 301.8, 'source-ip': '10.0.0.33', 'instance-id': 'i-000000aaaaaa00000', state: 'running' },
};

const withDetail = (detail: Record<string, unknown>) => ({ ...EC2_EVENT, detail: { ...EC2_EVENT.detail, ...detail } });

const CASES: readonly Case[] = [
  // --- exact values ---
  ['event-ruler README "Simple matching": all fields of the rule match', { 'detail-type': ['EC2 Instance State-change Notification'], resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000'], detail: { state: ['initializing', 'running'] } }, EC2_EVENT, true],
  ['event-ruler README "Simple matching": any value of the list matches (initializing)', { detail: { state: ['initializing', 'running'] } }, withDetail({ state: 'initializing' }), true],
  ['event-ruler README "Simple matching": a value outside the list does not', { detail: { state: ['initializing', 'running'] } }, withDetail({ state: 'stopped' }), false],
  ['event-ruler README "Default And relationship": every field must match', { source: ['aws.ec2'], detail: { state: ['stopped'] } }, EC2_EVENT, false],
  ['exact strings are case-sensitive (EB guide "Event patterns": matching is exact)', { source: ['AWS.EC2'] }, EC2_EVENT, false],
  ['a field absent from the event does not match an exact value', { detail: { missing: ['x'] } }, EC2_EVENT, false],
  ['event-ruler README "JSON text matching": a number matches numerically (5.0 = 5)', { detail: { 'c-count': [5.0] } }, EC2_EVENT, true],
  ['event-ruler README "JSON text matching": 3.018e2 is the number 301.8', { detail: { 'x-limit': [3.018e2] } }, EC2_EVENT, true],
  ['event-ruler README "JSON text matching": the string "5" does not match the number 5', { detail: { 'c-count': ['5'] } }, EC2_EVENT, false],
  ['event-ruler README "JSON text matching": the number 6 does not match the string "6" (visit hardwareConcurrency)', { device: { hardwareConcurrency: [6] } }, SAMPLE_VISIT, false],
  ['the string "6" matches the visit\'s hardwareConcurrency "6"', { device: { hardwareConcurrency: ['6'] } }, SAMPLE_VISIT, true],
  ['event-ruler README "JSON text matching": true matches the literal true, not the string "true"', { screen: { touch: [true] } }, SAMPLE_VISIT, false],
  ['the string "true" matches the visit\'s screen.touch "true"', { screen: { touch: ['true'] } }, SAMPLE_VISIT, true],
  ['booleans match booleans', { flag: [false] }, { flag: false }, true],
  ['EB guide "null values and empty strings": [null] matches a null field', { detail: { responseElements: [null] } }, { detail: { eventVersion: '', responseElements: null } }, true],
  ['EB guide "null values and empty strings": [""] matches an empty string', { detail: { eventVersion: [''] } }, { detail: { eventVersion: '', responseElements: null } }, true],
  ['EB guide "null values and empty strings": [null] does not match an empty string', { detail: { eventVersion: [null] } }, { detail: { eventVersion: '', responseElements: null } }, false],
  ['EB guide "null values and empty strings": [""] does not match null', { detail: { responseElements: [''] } }, { detail: { eventVersion: '', responseElements: null } }, false],
  ['[null] does not match an absent field', { detail: { nothing: [null] } }, { detail: {} }, false],

  // --- arrays in the event ---
  ['EB guide "Arrays": the pattern matches if the intersection with the event array is non-empty', { resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f', 'arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f', 'arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f'] }, { resources: ['arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:eb56d16b-bbf0-401d-b893-d5978ed4a025:autoScalingGroupName/ASGTerminate', 'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f'] }, true],
  ['EB guide "Arrays": an empty intersection does not match', { resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f'] }, { resources: ['arn:aws:ec2:us-east-1:999999999999:instance/i-b188560f'] }, false],
  ['event-ruler README "JSON Array Matching": fields of objects in an array match as if the array were crushed out', { employees: { firstName: ['Anna'] } }, { employees: [{ firstName: 'John', lastName: 'Doe' }, { firstName: 'Anna', lastName: 'Smith' }, { firstName: 'Peter', lastName: 'Jones' }] }, true],
  ['event-ruler README "JSON Array Matching": multi-level arrays too', { employees: { firstName: ['Peter'] } }, { employees: [[{ firstName: 'John', lastName: 'Doe' }, { firstName: 'Anna', lastName: 'Smith' }], [{ firstName: 'Peter', lastName: 'Jones' }]] }, true],
  ['event-ruler README "JSON Array Matching": two fields never match across different elements (Anna/Jones)', { employees: { firstName: ['Anna'], lastName: ['Jones'] } }, { employees: [{ firstName: 'John', lastName: 'Doe' }, { firstName: 'Anna', lastName: 'Smith' }, { firstName: 'Peter', lastName: 'Jones' }] }, false],
  ['event-ruler README "JSON Array Matching": two fields of the same element do (Anna/Smith)', { employees: { firstName: ['Anna'], lastName: ['Smith'] } }, { employees: [{ firstName: 'John', lastName: 'Doe' }, { firstName: 'Anna', lastName: 'Smith' }] }, true],
  ['nested arrays of scalars are flattened', { tags: ['b'] }, { tags: [['a'], ['b', 'c']] }, true],
  ['an empty array has no values: an exact value does not match it', { tags: ['a'] }, { tags: [] }, false],

  // --- prefix / suffix ---
  ['EB guide "Prefix matching": time starts with 2017-10-02', { time: [{ prefix: '2017-10-02' }] }, { time: '2017-10-02T18:43:48Z' }, true],
  ['EB guide "Prefix matching": another day does not', { time: [{ prefix: '2017-10-02' }] }, { time: '2017-10-03T18:43:48Z' }, false],
  ['EB guide "Prefix matching example": region prefix eu-', { source: ['aws.autoscaling'], region: [{ prefix: 'eu-' }] }, { source: 'aws.autoscaling', region: 'eu-west-1' }, true],
  ['event-ruler README: prefix matches only work on string-valued fields', { n: [{ prefix: '12' }] }, { n: 123 }, false],
  ['prefix is case-sensitive', { time: [{ prefix: 'abc' }] }, { time: 'ABCdef' }, false],
  ['EB guide "Prefix matching while ignoring case": EventB matches eventbridge', { detail: { service: [{ prefix: { 'equals-ignore-case': 'EventB' } }] } }, { detail: { service: 'eventbridge.amazonaws.com' } }, true],
  ['EB guide "Prefix matching while ignoring case": EventB matches EVENTB...', { detail: { service: [{ prefix: { 'equals-ignore-case': 'EventB' } }] } }, { detail: { service: 'EVENTBRIDGE' } }, true],
  ['EB guide "Prefix matching while ignoring case": not another prefix', { detail: { service: [{ prefix: { 'equals-ignore-case': 'EventB' } }] } }, { detail: { service: 'sqs' } }, false],
  ['EB guide "Suffix matching": FileName ends with .png', { FileName: [{ suffix: '.png' }] }, { FileName: 'image.png' }, true],
  ['EB guide "Suffix matching": .PNG is another suffix', { FileName: [{ suffix: '.png' }] }, { FileName: 'image.PNG' }, false],
  ['EB guide "Suffix matching while ignoring case": .PNG matches', { detail: { FileName: [{ suffix: { 'equals-ignore-case': '.png' } }] } }, { detail: { FileName: 'image.PNG' } }, true],
  ['event-ruler README "Suffix matching": source ends with ec2', { source: [{ suffix: 'ec2' }] }, EC2_EVENT, true],
  ['visit: url prefix https://example.com/', { url: [{ prefix: 'https://example.com/' }] }, SAMPLE_VISIT, true],

  // --- equals-ignore-case ---
  ['event-ruler README "Equals-ignore-case matching": EC2 matches aws.ec2? no: the whole value is compared', { source: [{ 'equals-ignore-case': 'EC2' }] }, EC2_EVENT, false],
  ['event-ruler README "Equals-ignore-case matching": EC2 matches ec2', { source: [{ 'equals-ignore-case': 'EC2' }] }, { source: 'ec2' }, true],
  ['EB guide "Equals-ignore-case matching": detail-type in any case', { 'detail-type': [{ 'equals-ignore-case': 'ec2 instance state-change notification' }] }, EC2_EVENT, true],
  ['equals-ignore-case works only on strings', { n: [{ 'equals-ignore-case': '5' }] }, { n: 5 }, false],
  ['visit: country in any case', { location: { country: [{ 'equals-ignore-case': 'united states' }] } }, SAMPLE_VISIT, true],

  // --- wildcard ---
  ['event-ruler README "Wildcard matching": Simple*Service matches SimpleQueueService', { source: [{ wildcard: 'Simple*Service' }] }, { source: 'SimpleQueueService' }, true],
  ['event-ruler README "Wildcard matching": a star matches nothing too (SimpleService)', { source: [{ wildcard: 'Simple*Service' }] }, { source: 'SimpleService' }, true],
  ['event-ruler README "Wildcard matching": not SimpleQueueServices', { source: [{ wildcard: 'Simple*Service' }] }, { source: 'SimpleQueueServices' }, false],
  ['wildcard: dir/*.png matches dir/image.png', { FileName: [{ wildcard: 'dir/*.png' }] }, { FileName: 'dir/image.png' }, true],
  ['wildcard: dir/*.png matches dir/subdir/image.png (a star crosses /)', { FileName: [{ wildcard: 'dir/*.png' }] }, { FileName: 'dir/subdir/image.png' }, true],
  ['EB guide "Comparison operators" (Wildcard): FilePath */lib/* includes /lib/', { FilePath: [{ wildcard: '*/lib/*' }] }, { FilePath: '/usr/lib/libc.so' }, true],
  ['wildcard: dir/*.png does not match dir/image.jpg', { FileName: [{ wildcard: 'dir/*.png' }] }, { FileName: 'dir/image.jpg' }, false],
  ['EB guide "Wildcard matching": arn:aws:events:us-east-1:*:event-bus/* on an event bus ARN', { EventBusArn: [{ wildcard: 'arn:aws:events:us-east-1:*:event-bus/*' }] }, { EventBusArn: 'arn:aws:events:us-east-1:123456789012:event-bus/orders' }, true],
  ['event-ruler README "Wildcard matching": \\* is a literal star', { s: [{ wildcard: 'a\\*b' }] }, { s: 'a*b' }, true],
  ['event-ruler README "Wildcard matching": \\* does not match other characters', { s: [{ wildcard: 'a\\*b' }] }, { s: 'axb' }, false],
  ['event-ruler README "Wildcard matching": \\\\ is a literal backslash', { s: [{ wildcard: 'a\\\\*' }] }, { s: 'a\\bc' }, true],
  ['wildcard: several stars match greedily but exactly (a*b*c)', { s: [{ wildcard: 'a*b*c' }] }, { s: 'abcabcXbc' }, true],
  ['wildcard: the last literal must end the value', { s: [{ wildcard: 'a*b*c' }] }, { s: 'abcabcXb' }, false],
  ['wildcard: overlapping prefix and suffix are not double-counted (ab*ba vs aba)', { s: [{ wildcard: 'ab*ba' }] }, { s: 'aba' }, false],
  ['wildcard works only on strings', { n: [{ wildcard: '1*' }] }, { n: 12 }, false],
  ['visit: url wildcard https://*/entry-*', { url: [{ wildcard: 'https://*/entry-*' }] }, SAMPLE_VISIT, true],

  // --- anything-but ---
  ['EB guide "Anything-but matching": state anything but initializing (running)', { detail: { state: [{ 'anything-but': 'initializing' }] } }, EC2_EVENT, true],
  ['EB guide "Anything-but matching": state anything but initializing (initializing)', { detail: { state: [{ 'anything-but': 'initializing' }] } }, withDetail({ state: 'initializing' }), false],
  ['EB guide "Anything-but matching": x-limit anything but 123 (301.8)', { detail: { 'x-limit': [{ 'anything-but': 123 }] } }, EC2_EVENT, true],
  ['EB guide "Anything-but matching": x-limit anything but 123 (123)', { detail: { 'x-limit': [{ 'anything-but': 123 }] } }, withDetail({ 'x-limit': 123 }), false],
  ['EB guide "Anything-but matching": list of strings (stopped)', { detail: { state: [{ 'anything-but': ['stopped', 'overloaded'] }] } }, withDetail({ state: 'stopped' }), false],
  ['EB guide "Anything-but matching": list of strings (overloaded)', { detail: { state: [{ 'anything-but': ['stopped', 'overloaded'] }] } }, withDetail({ state: 'overloaded' }), false],
  ['EB guide "Anything-but matching": list of strings (running)', { detail: { state: [{ 'anything-but': ['stopped', 'overloaded'] }] } }, EC2_EVENT, true],
  ['EB guide "Anything-but matching": list of numbers (200)', { detail: { 'x-limit': [{ 'anything-but': [100, 200, 300] }] } }, withDetail({ 'x-limit': 200 }), false],
  ['EB guide "Anything-but matching": list of numbers (301.8)', { detail: { 'x-limit': [{ 'anything-but': [100, 200, 300] }] } }, EC2_EVENT, true],
  ['EB guide "Anything-but matching example": everything but CloudTrail API calls', { 'detail-type': [{ 'anything-but': 'AWS API Call via CloudTrail' }] }, EC2_EVENT, true],
  ['EB guide "Anything-but matching example": not from aws.ec2 or aws.s3', { source: [{ 'anything-but': ['aws.ec2', 'aws.s3'] }] }, EC2_EVENT, false],
  ['EB guide "Anything-but matching": prefix init (running)', { detail: { state: [{ 'anything-but': { prefix: 'init' } }] } }, EC2_EVENT, true],
  ['EB guide "Anything-but matching": prefix init (initializing)', { detail: { state: [{ 'anything-but': { prefix: 'init' } }] } }, withDetail({ state: 'initializing' }), false],
  ['EB guide "Anything-but matching example": only your own events, not aws.*', { source: [{ 'anything-but': { prefix: 'aws.' } }] }, { source: 'com.mycompany.orders' }, true],
  ['event-ruler README "Anything-but prefix list": neither init nor error', { detail: { state: [{ 'anything-but': { prefix: ['init', 'error'] } }] } }, withDetail({ state: 'error: disk' }), false],
  ['event-ruler README "Anything-but suffix": instance-id not ending 1234', { detail: { 'instance-id': [{ 'anything-but': { suffix: '1234' } }] } }, withDetail({ 'instance-id': 'i-0001234' }), false],
  ['event-ruler README "Anything-but suffix list": ends with neither', { detail: { 'instance-id': [{ 'anything-but': { suffix: ['1234', '6789'] } }] } }, EC2_EVENT, true],
  ['EB guide "Anything-but matching" (ends with): FileName not .txt', { detail: { FileName: [{ 'anything-but': { suffix: '.txt' } }] } }, { detail: { FileName: 'notes.txt' } }, false],
  ['event-ruler README "Anything-but-ignore-case": STOPPED is Stopped', { detail: { state: [{ 'anything-but': { 'equals-ignore-case': 'Stopped' } }] } }, withDetail({ state: 'STOPPED' }), false],
  ['event-ruler README "Anything-but-ignore-case list": OVERLOADED excluded, running not', { detail: { state: [{ 'anything-but': { 'equals-ignore-case': ['Stopped', 'OverLoaded'] } }] } }, EC2_EVENT, true],
  ['event-ruler README "Anything-but-ignore-case list": overloaded excluded', { detail: { state: [{ 'anything-but': { 'equals-ignore-case': ['Stopped', 'OverLoaded'] } }] } }, withDetail({ state: 'overloaded' }), false],
  ['EB guide "Anything-but using a wildcard": FilePath not */lib/*', { detail: { FilePath: [{ 'anything-but': { wildcard: '*/lib/*' } }] } }, { detail: { FilePath: '/usr/lib/x.so' } }, false],
  ['EB guide "Anything-but using a wildcard": FilePath outside lib', { detail: { FilePath: [{ 'anything-but': { wildcard: '*/lib/*' } }] } }, { detail: { FilePath: '/usr/bin/x' } }, true],
  ['event-ruler README "Anything-but wildcard list": */bin/*.jar or */bin/*.class excluded', { detail: { state: [{ 'anything-but': { wildcard: ['*/bin/*.jar', '*/bin/*.class'] } }] } }, withDetail({ state: '/opt/bin/app.class' }), false],
  ['anything-but never matches an absent field', { detail: { nothing: [{ 'anything-but': 'x' }] } }, EC2_EVENT, false],
  ['anything-but a string matches a number (any value not excluded; event-ruler AnythingBut)', { detail: { 'c-count': [{ 'anything-but': 'x' }] } }, EC2_EVENT, true],
  ['anything-but over an event array: matches when one element is not excluded', { tags: [{ 'anything-but': 'a' }] }, { tags: ['a', 'b'] }, true],
  ['anything-but over an event array: all elements excluded', { tags: [{ 'anything-but': ['a', 'b'] }] }, { tags: ['a', 'b'] }, false],
  ['issue 17: visits from elsewhere than the United States (sample is from the US)', { location: { country: [{ 'anything-but': ['United States'] }] } }, SAMPLE_VISIT, false],
  ['issue 17: visits from elsewhere than the United States (a visit from France)', { location: { country: [{ 'anything-but': ['United States'] }] } }, { ...SAMPLE_VISIT, location: { ...SAMPLE_VISIT.location, country: 'France' } }, true],

  // --- numeric ---
  ['EB guide "Numeric matching": c-count > 0 and <= 5, d-count < 10, x-limit = 3.018e2', { detail: { 'c-count': [{ numeric: ['>', 0, '<=', 5] }], 'd-count': [{ numeric: ['<', 10] }], 'x-limit': [{ numeric: ['=', 3.018e2] }] } }, EC2_EVENT, true],
  ['EB guide "Numeric matching": only when all fields are true (c-count 6 fails)', { detail: { 'c-count': [{ numeric: ['>', 0, '<=', 5] }], 'd-count': [{ numeric: ['<', 10] }] } }, withDetail({ 'c-count': 6 }), false],
  ['numeric: the lower bound is exclusive with >', { n: [{ numeric: ['>', 0, '<=', 5] }] }, { n: 0 }, false],
  ['numeric: the upper bound is inclusive with <=', { n: [{ numeric: ['>', 0, '<=', 5] }] }, { n: 5 }, true],
  ['numeric: >= includes its bound', { n: [{ numeric: ['>=', 10] }] }, { n: 10 }, true],
  ['numeric: < excludes its bound', { n: [{ numeric: ['<', 10] }] }, { n: 10 }, false],
  ['numeric: negative and fractional values', { n: [{ numeric: ['>=', -4e-6, '<', 0.000033] }] }, { n: 0 }, true],
  ['EB guide "Numeric matching": works only with JSON numbers, not the string "6" (visit hardwareConcurrency)', { device: { hardwareConcurrency: [{ numeric: ['>=', 4] }] } }, SAMPLE_VISIT, false],
  ['numeric on the same field as a number', { device: { hardwareConcurrency: [{ numeric: ['>=', 4] }] } }, { ...SAMPLE_VISIT, device: { ...SAMPLE_VISIT.device, hardwareConcurrency: 6 } }, true],
  ['numeric over an event array: any element in range', { n: [{ numeric: ['>', 10] }] }, { n: [1, 2, 30] }, true],

  // --- cidr ---
  ['EB guide "IP address matching": 10.0.0.0/24 contains 10.0.0.33', { detail: { 'source-ip': [{ cidr: '10.0.0.0/24' }] } }, EC2_EVENT, true],
  ['EB guide "IP address matching": 10.0.0.0/24 does not contain 10.0.1.1', { detail: { 'source-ip': [{ cidr: '10.0.0.0/24' }] } }, withDetail({ 'source-ip': '10.0.1.1' }), false],
  ['event-ruler JsonRuleCompilerTest: 192.0.2.0/24 contains 192.0.2.0', { b: [{ cidr: '192.0.2.0/24' }] }, { a: 133.3, b: '192.0.2.0' }, true],
  ['event-ruler README "IP Address Matching": also works with IPv6', { ip: [{ cidr: '2001:db8::/32' }] }, { ip: '2001:0db8:85a3::8a2e:0370:7334' }, true],
  ['IPv6 outside the range', { ip: [{ cidr: '2001:db8::/32' }] }, { ip: '2001:db9::1' }, false],
  ['event-ruler CIDRTest: host bits of the range are ignored (54.240.196.171/24)', { ip: [{ cidr: '54.240.196.171/24' }] }, { ip: '54.240.196.1' }, true],
  ['an IPv4 address is not in an IPv6 range', { ip: [{ cidr: '::/1' }] }, { ip: '10.0.0.1' }, false],
  ['cidr does not match a string that is no address', { ip: [{ cidr: '10.0.0.0/8' }] }, { ip: 'ten' }, false],
  ['visit: ip in 192.168.0.0/16', { ip: [{ cidr: '192.168.0.0/16' }] }, SAMPLE_VISIT, true],

  // --- exists ---
  ['EB guide "Exists matching": description exists', { detail: { description: [{ exists: true }] } }, { detail: { description: 'hello' } }, true],
  ['EB guide "Exists matching": c-count does not exist (absent)', { detail: { 'c-count': [{ exists: false }] } }, { 'detail-type': ['EC2 Instance State-change Notification'], detail: { state: ['initializing', 'running'] } }, true],
  ['EB guide "Exists matching": exists:false also matches when c-count is not a leaf node', { detail: { 'c-count': [{ exists: false }] } }, { detail: { state: ['initializing', 'running'], 'c-count': { c1: 100 } } }, true],
  ['event-ruler README "Exists matching": exists:false fails when c-count is present', { detail: { 'c-count': [{ exists: false }] } }, EC2_EVENT, false],
  ['event-ruler README "Exists matching": exists:true matches a present c-count', { detail: { 'c-count': [{ exists: true }] } }, EC2_EVENT, true],
  ['EB guide "Exists matching": exists:true does not match an intermediate node', { detail: [{ exists: true }] }, EC2_EVENT, false],
  ['exists:true matches a null value (a value, not an absence)', { x: [{ exists: true }] }, { x: null }, true],
  ['exists:false matches when the parent object is absent too', { detail: { 'c-count': [{ exists: false }] } }, { source: 'x' }, true],
  ['exists:false matches an empty array (no value)', { tags: [{ exists: false }] }, { tags: [] }, true],
  ['exists combined with a value: absent or "x"', { tag: [{ exists: false }, 'x'] }, { tag: 'x' }, true],
  ['visit: no referrer (the sample has one)', { referrer: [{ exists: false }] }, SAMPLE_VISIT, false],

  // --- $or ---
  ['event-ruler README "$or": source && (metricName || namespace), via namespace', { source: ['aws.cloudwatch'], $or: [{ metricName: ['CPUUtilization', 'ReadLatency'] }, { namespace: ['AWS/EC2', 'AWS/ES'] }] }, { source: 'aws.cloudwatch', namespace: 'AWS/ES' }, true],
  ['event-ruler README "$or": neither alternative', { source: ['aws.cloudwatch'], $or: [{ metricName: ['CPUUtilization', 'ReadLatency'] }, { namespace: ['AWS/EC2', 'AWS/ES'] }] }, { source: 'aws.cloudwatch', namespace: 'AWS/S3' }, false],
  ['event-ruler README "$or": the And part still applies', { source: ['aws.cloudwatch'], $or: [{ metricName: ['CPUUtilization'] }, { namespace: ['AWS/EC2'] }] }, { source: 'aws.s3', metricName: 'CPUUtilization' }, false],
  ['event-ruler README "Parallel Or": (metricName || namespace) && (detail.source || detail.detail-type)', { $or: [{ metricName: ['CPUUtilization', 'ReadLatency'] }, { namespace: ['AWS/EC2', 'AWS/ES'] }], detail: { $or: [{ source: ['aws.cloudwatch'] }, { 'detail-type': ['CloudWatch Alarm State Change'] }] } }, { metricName: 'ReadLatency', detail: { 'detail-type': 'CloudWatch Alarm State Change' } }, true],
  ['event-ruler README "Or has an And inside": metricType && namespace together', { source: ['aws.cloudwatch'], $or: [{ metricName: ['CPUUtilization', 'ReadLatency'] }, { metricType: ['MetricType'], namespace: ['AWS/EC2', 'AWS/ES'] }, { scope: ['Service'] }] }, { source: 'aws.cloudwatch', metricType: 'MetricType', namespace: 'AWS/EC2' }, true],
  ['event-ruler README "Or has an And inside": metricType alone is not enough', { source: ['aws.cloudwatch'], $or: [{ metricName: ['CPUUtilization', 'ReadLatency'] }, { metricType: ['MetricType'], namespace: ['AWS/EC2', 'AWS/ES'] }, { scope: ['Service'] }] }, { source: 'aws.cloudwatch', metricType: 'MetricType' }, false],
  ['event-ruler README "Nested Or and And": metricId 1234 in the inner $or', { source: ['aws.cloudwatch'], $or: [{ metricName: ['CPUUtilization', 'ReadLatency'] }, { metricType: ['MetricType'], namespace: ['AWS/EC2', 'AWS/ES'], $or: [{ metricId: [1234] }, { spaceId: [1000] }] }, { scope: ['Service'] }] }, { source: 'aws.cloudwatch', metricType: 'MetricType', namespace: 'AWS/ES', metricId: 1234 }, true],
  ['event-ruler README "Nested Or and And": neither metricId nor spaceId', { source: ['aws.cloudwatch'], $or: [{ metricName: ['CPUUtilization', 'ReadLatency'] }, { metricType: ['MetricType'], namespace: ['AWS/EC2', 'AWS/ES'], $or: [{ metricId: [1234] }, { spaceId: [1000] }] }, { scope: ['Service'] }] }, { source: 'aws.cloudwatch', metricType: 'MetricType', namespace: 'AWS/ES', metricId: 1 }, false],
  ['EB guide "$or matching": c-count, d-count or x-limit in range', { detail: { $or: [{ 'c-count': [{ numeric: ['>', 0, '<=', 5] }] }, { 'd-count': [{ numeric: ['<', 10] }] }, { 'x-limit': [{ numeric: ['=', 3.018e2] }] }] } }, withDetail({ 'c-count': 50, 'd-count': 50 }), true],
  ['visit: newsletter or Google traffic', { $or: [{ params: { utm_source: ['newsletter'] } }, { trafficSource: { source: ['Google'] } }] }, SAMPLE_VISIT, true],

  // --- the issue's examples on the visit ---
  ['issue 17: params.utm_source newsletter (sample)', { params: { utm_source: ['newsletter'] } }, SAMPLE_VISIT, true],
  ['issue 17: params.utm_source newsletter (another source)', { params: { utm_source: ['newsletter'] } }, { ...SAMPLE_VISIT, params: { utm_source: 'ads' } }, false],
  ['visit: nested company domain', { visitor: { company: { domain: ['example.com'] } } }, SAMPLE_VISIT, true],
  ['visit: a payload that is not an object matches only absences', { id: [{ exists: false }] }, 'not an object', true],
];

describe('payload filters: matching, with the EventBridge and event-ruler documented examples', () => {
  it.each(CASES)('%s', (_name, pattern, payload, expected) => {
    expect(matches(pattern, payload)).toBe(expected);
  });

  it('covers every operator at least once', () => {
    const text = JSON.stringify(CASES.map((c) => c[1]));
    for (const op of ['prefix', 'suffix', 'equals-ignore-case', 'wildcard', 'anything-but', 'numeric', 'exists', 'cidr', '$or']) expect(text).toContain(`"${op}"`);
  });
});

type Bad = readonly [name: string, pattern: unknown, path: ReadonlyArray<string | number>, message: RegExp];

const BAD: readonly Bad[] = [
  ['event-ruler JsonRuleCompilerTest: top level must be an object', [1, 2, 3], [], /must be an object/],
  ['null is not a pattern', null, [], /must be an object/],
  ['event-ruler JsonRuleCompilerTest: values must be in an array', { a: 1 }, ['a'], /must be an array of values/],
  ['event-ruler JsonRuleCompilerTest: objects must not be empty', { foo: {} }, ['foo'], /empty object/],
  ['the pattern itself must not be empty', {}, [], /empty object/],
  ['event-ruler JsonRuleCompilerTest: arrays must not be empty', { foo: [] }, ['foo'], /empty array/],
  ['event-ruler JsonRuleCompilerTest: array values must be primitives or operators ({"x": 2})', { a: [{ x: 2 }] }, ['a', 0, 'x'], /unknown operator "x"/],
  ['nested arrays are not values', { a: [['x']] }, ['a', 0], /must be a string, number, boolean, null or an operator/],
  ['event-ruler JsonRuleCompilerTest: {"exactly": 33} is not an operator here', { a: [{ exactly: 33 }] }, ['a', 0, 'exactly'], /unknown operator/],
  ['event-ruler JsonRuleCompilerTest: prefix with a second key', { a: [{ prefix: 'child', foo: [] }] }, ['a', 0], /exactly one key/],
  ['event-ruler JsonRuleCompilerTest: prefix must be a string (3)', { a: [{ prefix: 3 }] }, ['a', 0, 'prefix'], /prefix must be a string/],
  ['event-ruler JsonRuleCompilerTest: suffix must be a string (3)', { a: [{ suffix: 3 }] }, ['a', 0, 'suffix'], /suffix must be a string/],
  ['event-ruler JsonRuleCompilerTest: prefix {"invalid-expression"}', { a: [{ prefix: { 'invalid-expression': ['abc'] } }] }, ['a', 0, 'prefix'], /equals-ignore-case/],
  ['event-ruler JsonRuleCompilerTest: prefix equals-ignore-case must be a string (5)', { a: [{ prefix: { 'equals-ignore-case': 5 } }] }, ['a', 0, 'prefix', 'equals-ignore-case'], /must be a string/],
  ['event-ruler JsonRuleCompilerTest: suffix equals-ignore-case not a list', { a: [{ suffix: { 'equals-ignore-case': ['abc'] } }] }, ['a', 0, 'suffix', 'equals-ignore-case'], /must be a string/],
  ['event-ruler JsonRuleCompilerTest: equals-ignore-case must be a string (5)', { a: [{ 'equals-ignore-case': 5 }] }, ['a', 0, 'equals-ignore-case'], /must be a string/],
  ['event-ruler JsonRuleCompilerTest: equals-ignore-case not a list', { a: [{ 'equals-ignore-case': ['abc'] }] }, ['a', 0, 'equals-ignore-case'], /must be a string/],
  ['event-ruler JsonRuleCompilerTest: wildcard must be a string (5)', { a: [{ wildcard: 5 }] }, ['a', 0, 'wildcard'], /must be a string/],
  ['event-ruler README: consecutive wildcard characters are not allowed', { a: [{ wildcard: 'foo**bar' }] }, ['a', 0, 'wildcard'], /consecutive/],
  ['event-ruler README: a backslash escaping anything but * or \\ is not allowed', { a: [{ wildcard: 'a\\b' }] }, ['a', 0, 'wildcard'], /backslash/],
  ['event-ruler JsonRuleCompilerTest: no trailing backslash in a wildcard', { a: [{ 'anything-but': { wildcard: 'foo*bar\\' } }] }, ['a', 0, 'anything-but', 'wildcard'], /backslash/],
  ['event-ruler JsonRuleCompilerTest: anything-but list mixing strings and numbers', { a: [{ 'anything-but': ['child0', 111, 'child2'] }] }, ['a', 0, 'anything-but', 1], /only strings or only numbers/],
  ['event-ruler JsonRuleCompilerTest: anything-but {"foo": 3}', { a: [{ 'anything-but': { foo: 3 } }] }, ['a', 0, 'anything-but'], /one of prefix, suffix/],
  ['event-ruler JsonRuleCompilerTest: anything-but prefix must be a string (27)', { a: [{ 'anything-but': { prefix: 27 } }] }, ['a', 0, 'anything-but', 'prefix'], /string or a list of strings/],
  ['event-ruler JsonRuleCompilerTest: anything-but prefix must not be empty', { a: [{ 'anything-but': { prefix: '' } }] }, ['a', 0, 'anything-but', 'prefix'], /must not be empty/],
  ['event-ruler JsonRuleCompilerTest: anything-but prefix list: no empty string', { a: [{ 'anything-but': { prefix: ['1', ''] } }] }, ['a', 0, 'anything-but', 'prefix', 1], /must not be empty/],
  ['event-ruler JsonRuleCompilerTest: anything-but suffix list: no numbers', { a: [{ 'anything-but': { suffix: [1, 2, 3] } }] }, ['a', 0, 'anything-but', 'suffix', 0], /list of strings/],
  ['event-ruler JsonRuleCompilerTest: anything-but equals-ignore-case: no numbers', { a: [{ 'anything-but': { 'equals-ignore-case': [1, 2, 3] } }] }, ['a', 0, 'anything-but', 'equals-ignore-case', 0], /list of strings/],
  ['event-ruler JsonRuleCompilerTest: anything-but wildcard list: no consecutive stars', { a: [{ 'anything-but': { wildcard: ['1', 'foo**bar'] } }] }, ['a', 0, 'anything-but', 'wildcard', 1], /consecutive/],
  ['event-ruler JsonRuleCompiler: anything-but of null is not supported', { a: [{ 'anything-but': null }] }, ['a', 0, 'anything-but'], /anything-but takes/],
  ['anything-but of an empty list', { a: [{ 'anything-but': [] }] }, ['a', 0, 'anything-but'], /empty list/],
  ['event-ruler JsonRuleCompilerTest: numeric ["=", true]', { x: [{ numeric: ['=', true] }] }, ['x', 0, 'numeric', 1], /finite JSON number/],
  ['event-ruler JsonRuleCompilerTest: numeric ["=", "-4e-6"] (a numeric string is no number)', { x: [{ numeric: ['=', '-4e-6'] }] }, ['x', 0, 'numeric', 1], /numeric string/],
  ['event-ruler JsonRuleCompilerTest: numeric ["="] (no operand)', { x: [{ numeric: ['='] }] }, ['x', 0, 'numeric'], /numeric must be/],
  ['event-ruler JsonRuleCompilerTest: numeric ["<>", 1, ">", 0]', { x: [{ numeric: ['<>', 1, '>', 0] }] }, ['x', 0, 'numeric', 0], /not an operator/],
  ['event-ruler JsonRuleCompilerTest: numeric ["<", 1, ">", 0] (a range starts with the lower bound)', { x: [{ numeric: ['<', 1, '>', 0] }] }, ['x', 0, 'numeric', 0], /starts with > or >=/],
  ['event-ruler JsonRuleCompilerTest: numeric [">", 1, "<", 1] (empty range)', { x: [{ numeric: ['>', 1, '<', 1] }] }, ['x', 0, 'numeric', 3], /upper bound/],
  ['event-ruler JsonRuleCompilerTest: numeric [">", 30, "<", 1]', { x: [{ numeric: ['>', 30, '<', 1] }] }, ['x', 0, 'numeric', 3], /upper bound/],
  ['event-ruler JsonRuleCompilerTest: numeric [">", 1, "<", 30, false] (too many terms)', { x: [{ numeric: ['>', 1, '<', 30, false] }] }, ['x', 0, 'numeric'], /numeric must be/],
  ['numeric must be an array', { x: [{ numeric: 5 }] }, ['x', 0, 'numeric'], /must be an array/],
  ['event-ruler JsonRuleCompilerTest: exists "badString"', { x: [{ exists: 'badString' }] }, ['x', 0, 'exists'], /true or false/],
  ['event-ruler CIDRTest: 192.168.0.1/33', { ip: [{ cidr: '192.168.0.1/33' }] }, ['ip', 0, 'cidr'], /below 32/],
  ['event-ruler CIDRTest: an IPv4 /32 is refused as EventBridge refuses it', { ip: [{ cidr: '10.0.0.1/32' }] }, ['ip', 0, 'cidr'], /below 32/],
  ['event-ruler CIDRTest: foo', { ip: [{ cidr: 'foo' }] }, ['ip', 0, 'cidr'], /IPv4 or IPv6 range/],
  ['event-ruler CIDRTest: foo/bar/baz', { ip: [{ cidr: 'foo/bar/baz' }] }, ['ip', 0, 'cidr'], /IPv4 or IPv6 range/],
  ['event-ruler CIDRTest: 192.168.0.1/-3424', { ip: [{ cidr: '192.168.0.1/-3424' }] }, ['ip', 0, 'cidr'], /IPv4 or IPv6 range/],
  ['event-ruler CIDRTest: 10.10.10.10.10/3', { ip: [{ cidr: '10.10.10.10.10/3' }] }, ['ip', 0, 'cidr'], /IPv4 or IPv6 range/],
  ['event-ruler CIDRTest: 2400:6500:FF00::36FB:1F80/222', { ip: [{ cidr: '2400:6500:FF00::36FB:1F80/222' }] }, ['ip', 0, 'cidr'], /IPv4 or IPv6 range|below 128/],
  ['event-ruler CIDRTest: too many IPv6 groups', { ip: [{ cidr: '2400:6500:3:3:3:3:3:3:3:3FF00::36FB:1F80/122' }] }, ['ip', 0, 'cidr'], /IPv4 or IPv6 range/],
  ['event-ruler README "$or": at least two objects', { $or: [{ a: ['x'] }] }, ['$or'], /at least two/],
  ['$or must be an array', { $or: { a: ['x'] } }, ['$or'], /at least two/],
  ['$or alternatives are patterns', { $or: [{ a: ['x'] }, 'b'] }, ['$or', 1], /must be an object/],
  ['issue 17: the offending part is named by its path (filter.location.country[0])', { location: { country: [{ prefx: 'Uni' }] } }, ['location', 'country', 0, 'prefx'], /unknown operator "prefx"/],
];

describe('payload filters: validation reports the offending part', () => {
  it.each(BAD)('%s', (_name, pattern, path, message) => {
    const issue = checkFilter(pattern);
    expect(issue).toBeDefined();
    expect(issue?.path).toEqual(path);
    expect(issue?.message).toMatch(message);
  });

  it('accepts every pattern of the matching cases', () => {
    for (const [name, pattern] of CASES) expect([name, checkFilter(pattern)]).toEqual([name, undefined]);
  });

  it(`refuses a pattern over ${FILTER_LIMITS.maxBytes} bytes, counted in UTF-8`, () => {
    // 'é' is 2 bytes: a pattern of under maxBytes characters can be over maxBytes bytes.
    const value = 'é'.repeat(FILTER_LIMITS.maxBytes / 2);
    expect(value.length).toBeLessThan(FILTER_LIMITS.maxBytes);
    expect(checkFilter({ a: [value] })?.message).toMatch(/at most 4096 bytes/);
    expect(checkFilter({ a: ['é'.repeat(FILTER_LIMITS.maxBytes / 2 - 10)] })).toBeUndefined();
  });

  it(`refuses nesting deeper than ${FILTER_LIMITS.maxDepth} levels, at the level that is too deep`, () => {
    const nest = (levels: number): unknown => (levels === 1 ? { leaf: ['x'] } : { n: nest(levels - 1) });
    expect(checkFilter(nest(FILTER_LIMITS.maxDepth))).toBeUndefined();
    const issue = checkFilter(nest(FILTER_LIMITS.maxDepth + 1));
    expect(issue?.message).toMatch(/at most 10 levels/);
    expect(issue?.path).toEqual(new Array(FILTER_LIMITS.maxDepth).fill('n'));
  });

  it(`refuses more than ${FILTER_LIMITS.maxValues} values, naming the first one over`, () => {
    const values = Array.from({ length: FILTER_LIMITS.maxValues }, (_, i) => `v${i}`);
    expect(checkFilter({ a: values })).toBeUndefined();
    const issue = checkFilter({ a: values, b: [{ 'anything-but': ['x', 'y'] }] });
    expect(issue?.path).toEqual(['b', 0, 'anything-but']);
    expect(issue?.message).toMatch(/at most 100 values/);
  });

  it(`refuses more than ${FILTER_LIMITS.maxWildcards} wildcards, counting those inside anything-but`, () => {
    const wildcards = Array.from({ length: FILTER_LIMITS.maxWildcards - 2 }, (_, i) => ({ wildcard: `*${i}*` }));
    expect(checkFilter({ a: wildcards, b: [{ 'anything-but': { wildcard: ['x*', 'y*'] } }] })).toBeUndefined();
    const issue = checkFilter({ a: wildcards, b: [{ 'anything-but': { wildcard: ['x*', 'y*', 'z*'] } }] });
    expect(issue?.path).toEqual(['b', 0, 'anything-but', 'wildcard', 2]);
    expect(issue?.message).toMatch(/at most 10 wildcards/);
  });

  it('finds the literal runs of a wildcard in a 60 KB value with near misses everywhere (the linear search is still exact)', () => {
    const value = JSON.parse(JSON.stringify({ r: `${'a'.repeat(60_000)}Z` })) as unknown;
    expect(matches({ r: [{ wildcard: `*${'a'.repeat(50)}b*Z` }] }, value)).toBe(false);
    expect(matches({ r: [{ wildcard: `*${'a'.repeat(50)}*Z` }] }, value)).toBe(true);
    expect(matches({ r: [{ wildcard: `*${'a'.repeat(3_000)}*${'a'.repeat(900)}Z` }] }, value)).toBe(true);
    expect(matches({ r: [{ wildcard: `*${'a'.repeat(3_000)}*${'a'.repeat(900)}b*Z` }] }, value)).toBe(false);
  });

  it('refuses numbers JSON can carry but that are not finite (1e400 parses to Infinity)', () => {
    expect(checkFilter(JSON.parse('{"a": [1e400]}'))?.path).toEqual(['a', 0]);
    expect(checkFilter(JSON.parse('{"a": [{"numeric": [">", 1e400]}]}'))?.path).toEqual(['a', 0, 'numeric', 1]);
  });
});

describe('FilterCache', () => {
  it('compiles once per webhook version and recompiles when updatedAt changes', () => {
    const cache = new FilterCache();
    const text = JSON.stringify({ params: { utm_source: ['newsletter'] } });
    const first = cache.get('acc/wh_1', '2026-01-01T00:00:00.000Z', text);
    expect(cache.get('acc/wh_1', '2026-01-01T00:00:00.000Z', text)).toBe(first);
    const changed = JSON.stringify({ params: { utm_source: ['ads'] } });
    const second = cache.get('acc/wh_1', '2026-01-02T00:00:00.000Z', changed);
    expect(second).not.toBe(first);
    expect(first(SAMPLE_VISIT)).toBe(true);
    expect(second(SAMPLE_VISIT)).toBe(false);
  });

  it('a stored filter that no longer compiles matches nothing and is reported', () => {
    const reported: string[] = [];
    const cache = new FilterCache(10, (key, issue) => reported.push(`${key}: ${issue.message}`));
    const matches = cache.get('acc/wh_2', 't', '{"a": 1}');
    expect(matches(SAMPLE_VISIT)).toBe(false);
    expect(cache.get('acc/wh_3', 't', 'not json')(SAMPLE_VISIT)).toBe(false);
    expect(reported).toHaveLength(2);
    expect(reported[0]).toMatch(/^acc\/wh_2: /);
  });
});
