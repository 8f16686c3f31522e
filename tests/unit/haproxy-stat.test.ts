// Parsing HAProxy's "show stat" (a real answer from HAProxy 2.6, trimmed to a few columns' worth).
import { describe, expect, it } from "vitest";
import { parseShowStat } from "@/server/provision/haproxy-stat";

const SAMPLE = `# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,req_rate,req_rate_max,req_tot,cli_abrt,srv_abrt,comp_in,comp_out,comp_byp,comp_rsp,lastsess,last_chk,last_agt,qtime,ctime,rtime,ttime,agent_status,agent_code,agent_duration,check_desc,
https,FRONTEND,,,0,3,262113,4209,,,0,0,0,,,,,OPEN,,,,,,,,,1,3,0,,,,0,0,0,12,,,,0,4208,0,0,0,0,,0,12,4208,,,0,0,0,0,,,,,,,,,,,,,
web,lab2,0,0,0,2,,2104,,,,0,,0,0,0,0,UP,1,1,0,0,0,120,0,,1,4,1,,2104,,2,0,,6,L7OK,200,3,0,2104,0,0,0,0,,,,2104,0,0,,,,,0,OK,,0,0,1,1,,,,Layer7 check passed,
web,lab3,0,0,0,2,,2104,,,,0,,3,0,0,3,DOWN,1,1,0,2,1,4,4,,1,4,2,,2101,,2,0,,6,L4CON,,0,0,2101,0,0,0,0,,,,2101,0,0,,,,,2,Connection refused,,0,0,1,1,,,,Layer4 connection problem,
web,lab4,0,0,0,2,,0,,,,0,,0,0,0,0,UP,0,1,0,0,0,50,0,,1,4,3,,0,,2,0,,6,L7OK,200,3,0,0,0,0,0,0,,,,0,0,0,,,,,0,OK,,0,0,1,1,,,,Layer7 check passed,
web,BACKEND,0,0,0,2,26212,4208,,,0,0,,3,0,0,3,UP,1,1,0,,0,120,0,,1,4,0,,4205,,1,0,,12,,,,0,4208,0,0,0,0,,,,4208,0,0,0,0,0,0,0,,,0,0,1,1,,,,,
`;

describe("parseShowStat", () => {
  it("reads each web server's status and last check; weight 0 reads as drained", () => {
    expect(parseShowStat(SAMPLE)).toEqual([
      { server: "lab2", status: "UP", check: "L7OK: Layer7 check passed", lastChangeS: 120 },
      { server: "lab3", status: "DOWN", check: "L4CON: Layer4 connection problem", lastChangeS: 4 },
      { server: "lab4", status: "DRAIN", check: "L7OK: Layer7 check passed", lastChangeS: 50 },
    ]);
  });
  it("says so when the answer is not a stats table", () => {
    expect(() => parseShowStat("Unknown command\n")).toThrow(/no header/);
  });
});
